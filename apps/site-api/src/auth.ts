import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export type AccessRole = 'admin' | 'viewer';

export interface AuthOptions {
  adminToken: string;
  /** read-only access to Bull Board and status; unset = admins only */
  viewerToken?: string | undefined;
}

/** Constant-time equality, whatever the lengths: compares fixed-size digests. */
function same(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Accepts `Authorization: Bearer <token>`, or HTTP Basic (browsers) where the user name is the
 * role (`admin` or `viewer`) and the password that role's token. Every comparison runs, so the
 * time taken does not tell which part was wrong.
 */
export function roleFor(header: string | undefined, options: AuthOptions): AccessRole | undefined {
  if (!header) return undefined;
  let token: string | undefined;
  let user: string | undefined;
  if (header.startsWith('Bearer ')) token = header.slice('Bearer '.length).trim();
  else if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    user = decoded.slice(0, colon);
    token = decoded.slice(colon + 1);
  }
  if (!token) return undefined;
  const admin = same(token, options.adminToken) && (user === undefined || same(user, 'admin'));
  const viewer = options.viewerToken !== undefined && same(token, options.viewerToken) && (user === undefined || same(user, 'viewer'));
  if (admin) return 'admin';
  if (viewer) return 'viewer';
  return undefined;
}

/** 401 with a Basic challenge (so a browser prompts) unless the request carries a known token. */
export function requireRole(options: AuthOptions, allowed: readonly AccessRole[] = ['admin', 'viewer']) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const role = roleFor(req.headers.authorization, options);
    if (!role) {
      res.setHeader('WWW-Authenticate', 'Basic realm="meridian", charset="UTF-8"');
      res.status(401).json({ error: 'unauthenticated', message: 'send Authorization: Bearer <token> or Basic credentials' });
      return;
    }
    if (!allowed.includes(role)) {
      res.status(403).json({ error: 'forbidden', message: `role ${role} may not do this` });
      return;
    }
    res.locals.role = role;
    next();
  };
}

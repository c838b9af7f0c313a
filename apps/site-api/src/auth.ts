import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export type AccessRole = 'admin' | 'viewer';

export interface AuthOptions {
  adminToken: string;
  /** read-only access to Bull Board and status; unset = admins only */
  viewerToken?: string | undefined;
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Accepts `Authorization: Bearer <token>` or HTTP Basic with the token as password (browsers). */
export function roleFor(header: string | undefined, options: AuthOptions): AccessRole | undefined {
  if (!header) return undefined;
  let token: string | undefined;
  if (header.startsWith('Bearer ')) token = header.slice('Bearer '.length).trim();
  else if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    token = decoded.slice(decoded.indexOf(':') + 1);
  }
  if (!token) return undefined;
  if (same(token, options.adminToken)) return 'admin';
  if (options.viewerToken && same(token, options.viewerToken)) return 'viewer';
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

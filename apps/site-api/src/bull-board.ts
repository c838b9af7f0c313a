import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Request, Response, NextFunction, Router } from 'express';
import type { AccessRole } from './auth';

export const BULL_BOARD_PATH = '/admin/queues';
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function board(queues: readonly Queue[], readOnlyMode: boolean, title: string): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode })),
    serverAdapter,
    options: { uiConfig: { boardTitle: title } },
  });
  return serverAdapter.getRouter() as Router;
}

/**
 * Bull Board's read-only mode is fixed per adapter, not per request, so we build two boards over
 * the same queues and route each request by the caller's role: viewers get one whose write
 * endpoints answer 405 and whose buttons are hidden.
 */
export function bullBoardRouter(queues: readonly Queue[], siteName: string) {
  const admin = board(queues, false, `Meridian ${siteName}`);
  const viewer = board(queues, true, `Meridian ${siteName} (read-only)`);
  return (req: Request, res: Response, next: NextFunction): void => {
    const role = res.locals.role as AccessRole | undefined;
    if (role === 'admin') {
      admin(req, res, next);
      return;
    }
    // Bull Board's read-only mode misses some writes (pause-all answers 200): refuse every write here.
    if (!READ_METHODS.has(req.method)) {
      res.status(403).json({ error: 'forbidden', message: 'the viewer role is read-only' });
      return;
    }
    viewer(req, res, next);
  };
}

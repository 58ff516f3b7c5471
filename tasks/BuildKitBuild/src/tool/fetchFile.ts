import * as fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { cancelledBy, throwIfCancelled } from '../core/cancellation';
import { DownloadFailure } from './download';
import { errorText } from '../core/errorText';
import { asWriteError } from './writeError';

/** Sends a GET and resolves with the response (any status); rejects on network errors only. */
export type HttpGet = (url: string) => Promise<IncomingMessage>;

/**
 * The request's answer, or a CancelledError as soon as the run is cancelled (the HTTP client cannot be
 * told to stop waiting for the server; an answer that still comes is thrown away).
 */
function untilCancelled(request: Promise<IncomingMessage>, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      reject(cancelledBy(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    request.then(
      (response) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) response.destroy();
        else resolve(response);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * One download attempt: streams a 200 response into `file` (created, never overwritten). Rejects with a
 * DownloadFailure carrying the status for other responses, or marked interrupted when the body broke
 * off or came out shorter than its Content-Length. A failure to write the file is a WriteError (or the
 * file system's own error), never a DownloadFailure: retrying does not help against a full disk.
 */
export async function fetchToFile(
  get: HttpGet,
  url: string,
  file: string,
  signal: AbortSignal,
): Promise<void> {
  throwIfCancelled(signal);
  const response = await untilCancelled(get(url), signal);
  const status = response.statusCode ?? 0;
  if (status !== 200) {
    response.resume();
    throw new DownloadFailure(`HTTP ${status}`, { status });
  }
  const expected = Number(response.headers['content-length']);
  const out = fs.createWriteStream(file, { flags: 'wx' });
  let writeFailure: Error | undefined;
  out.once('error', (error) => {
    writeFailure = error;
  });
  try {
    await pipeline(response, out, { signal });
  } catch (error: unknown) {
    throwIfCancelled(signal);
    // The disk, not the network: no retry helps, the message names the directory.
    if (writeFailure !== undefined) throw asWriteError(writeFailure, path.dirname(file)) ?? writeFailure;
    throw new DownloadFailure(errorText(error), { interrupted: true, cause: error });
  }
  const received = fs.statSync(file).size;
  if (Number.isFinite(expected) && received !== expected) {
    throw new DownloadFailure(`${received} of ${expected} bytes`, { interrupted: true });
  }
}

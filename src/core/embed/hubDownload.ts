import { createWriteStream, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { ModelError } from './modelInfo';

export interface DownloadProgress {
  file: string;
  loadedBytes: number;
  totalBytes?: number;
}

export interface DownloadOptions {
  endpoint?: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Per-connection timeout; a hub that does not answer is treated as offline. */
  timeoutMs?: number;
}

/** The files a transformers.js feature-extraction model needs; the last ones are optional. */
const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx'];
const OPTIONAL_FILES = ['special_tokens_map.json'];
export const COMPLETE_MARKER = '.nearby-complete';

/**
 * Downloads a public model from the Hugging Face hub into `destDir`. This is Nearby's only network
 * use, and only when the user picked a hub model. Each file lands as `.part` and is renamed when
 * whole; the folder counts as usable only once the completion marker is written.
 */
export async function downloadHubModel(hubId: string, destDir: string, options: DownloadOptions = {}): Promise<void> {
  const endpoint = (options.endpoint ?? options.env?.['NEARBY_HF_ENDPOINT'] ?? 'https://huggingface.co').replace(/\/$/, '');
  await fs.mkdir(path.join(destDir, 'onnx'), { recursive: true });
  for (const file of [...REQUIRED_FILES, ...OPTIONAL_FILES]) {
    const url = `${endpoint}/${hubId}/resolve/main/${file}`;
    try {
      await downloadFile(url, path.join(destDir, file), file, options);
    } catch (err) {
      if (err instanceof HttpStatusError && err.status === 404 && OPTIONAL_FILES.includes(file)) continue;
      throw toModelError(err, hubId, endpoint);
    }
  }
  await fs.writeFile(path.join(destDir, COMPLETE_MARKER), new Date().toISOString());
}

class HttpStatusError extends Error {
  constructor(readonly status: number, url: string) {
    super(`HTTP ${status} for ${url}`);
  }
}

function toModelError(err: unknown, hubId: string, endpoint: string): ModelError {
  const code = (err as NodeJS.ErrnoException).code;
  const offline = ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH'];
  const how =
    'Nearby works offline with its bundled model. To use this model anyway, copy its folder ' +
    '(config.json, tokenizer files, onnx/model_quantized.onnx) to this machine and set "nearby.modelPath" ' +
    '(CLI: --model <folder>, or NEARBY_MODEL_DIR).';
  if (code && offline.includes(code)) {
    return new ModelError('model-offline', `Cannot reach ${endpoint} to download ${hubId} (${code}). ${how}`);
  }
  return new ModelError('model-download-failed', `Downloading ${hubId} from ${endpoint} failed: ${(err as Error).message}. ${how}`);
}

async function downloadFile(url: string, dest: string, file: string, options: DownloadOptions, redirects = 0): Promise<void> {
  const response = await request(url, options);
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400 && response.headers.location) {
    response.resume();
    if (redirects > 5) throw new Error(`too many redirects for ${url}`);
    return downloadFile(new URL(response.headers.location, url).toString(), dest, file, options, redirects + 1);
  }
  if (status !== 200) {
    response.resume();
    throw new HttpStatusError(status, url);
  }
  const total = Number(response.headers['content-length']) || undefined;
  let loaded = 0;
  const part = `${dest}.part`;
  const out = createWriteStream(part);
  await new Promise<void>((resolve, reject) => {
    response.on('data', (chunk: Buffer) => {
      loaded += chunk.length;
      options.onProgress?.(total === undefined ? { file, loadedBytes: loaded } : { file, loadedBytes: loaded, totalBytes: total });
    });
    response.on('error', reject);
    out.on('error', reject);
    out.on('finish', resolve);
    response.pipe(out);
  });
  await fs.rename(part, dest);
}

/** GET with HTTPS_PROXY / HTTP_PROXY / NO_PROXY honoured (CONNECT tunnel for https). */
function request(url: string, options: DownloadOptions): Promise<http.IncomingMessage> {
  const target = new URL(url);
  const env = options.env ?? process.env;
  const proxy = proxyFor(target, env);
  const timeout = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => reject(err);
    const get = (socket?: tls.TLSSocket | undefined) => {
      const mod = target.protocol === 'https:' ? https : http;
      const req = mod.get(target, { timeout, signal: options.signal, ...(socket ? { createConnection: () => socket } : {}) }, resolve);
      req.on('timeout', () => req.destroy(Object.assign(new Error(`timed out after ${timeout} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', fail);
    };
    if (!proxy) return get();
    if (target.protocol !== 'https:') {
      const req = http.get({ host: proxy.hostname, port: proxy.port || 80, path: url, timeout, headers: { host: target.host } }, resolve);
      req.on('error', fail);
      return;
    }
    const connect = http.request({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: `${target.hostname}:${target.port || 443}`,
      timeout,
      headers: proxy.username ? { 'proxy-authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` } : {},
    });
    connect.on('connect', (res, socket) => {
      if (res.statusCode !== 200) return fail(new Error(`proxy refused CONNECT (${res.statusCode})`));
      get(tls.connect({ socket, servername: target.hostname }));
    });
    connect.on('error', fail);
    connect.end();
  });
}

export function proxyFor(target: URL, env: NodeJS.ProcessEnv): URL | undefined {
  const noProxy = (env['NO_PROXY'] ?? env['no_proxy'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (noProxy.some((rule) => rule === '*' || target.hostname === rule.replace(/^\./, '') || target.hostname.endsWith(rule.startsWith('.') ? rule : `.${rule}`))) {
    return undefined;
  }
  const raw = target.protocol === 'https:' ? env['HTTPS_PROXY'] ?? env['https_proxy'] ?? env['HTTP_PROXY'] ?? env['http_proxy'] : env['HTTP_PROXY'] ?? env['http_proxy'];
  return raw ? new URL(raw.includes('://') ? raw : `http://${raw}`) : undefined;
}

import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/**
 * A webview's page: its styles and scripts from `media` only, under a CSP that allows nothing
 * else (no inline script, no remote resource), each script let in by a fresh nonce.
 */
export function webviewPage(webview: vscode.Webview, media: vscode.Uri, page: { title: string; styles: string[]; scripts: string[]; body: string }): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(media, name));
  const csp = [`default-src 'none'`, `style-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`, `img-src ${webview.cspSource}`, `font-src ${webview.cspSource}`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${page.styles.map((s) => `<link rel="stylesheet" href="${asset(s)}">`).join('\n')}
<title>${page.title}</title>
</head>
<body>
${page.body}
${page.scripts.map((s) => `<script nonce="${nonce}" src="${asset(s)}"></script>`).join('\n')}
</body>
</html>`;
}

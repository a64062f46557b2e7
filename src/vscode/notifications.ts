import * as vscode from 'vscode';
import type { IndexService } from './indexService';

/**
 * The very first index of a workspace shows a cancellable notification with progress; later
 * passes are quiet (the status bar is enough). Returns a handle that closes the notification.
 */
export function firstIndexProgress(service: IndexService): vscode.Disposable {
  if (service.hasIndexOnDisk()) return { dispose: () => undefined };
  let close: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (close = resolve));
  void vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Nearby: indexing the workspace', cancellable: true },
    async (progress, token) => {
      let last = 0;
      const sub = service.onDidChangeState((s) => {
        if (s.kind === 'indexing' && s.total > 0) {
          const pct = Math.floor((100 * s.done) / s.total);
          progress.report({ message: `${s.done}/${s.total} files`, increment: pct - last });
          last = pct;
        } else if (s.kind !== 'indexing' && s.kind !== 'starting') close();
      });
      token.onCancellationRequested(() => {
        service.cancel();
        close();
      });
      await closed;
      sub.dispose();
    },
  );
  return { dispose: close };
}

/** One warning with the two things a user can do about a failed start. */
export function reportStartFailure(message: string, log: vscode.LogOutputChannel, retry: () => Promise<void>): void {
  void vscode.window.showWarningMessage(`Nearby could not index this workspace: ${message}`, 'View Logs', 'Retry').then((choice) => {
    if (choice === 'View Logs') log.show();
    else if (choice === 'Retry') void retry();
  });
}

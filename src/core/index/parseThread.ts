// Entry of the parsing thread (see ThreadParser): reads and chunks files on request.
import { parentPort, workerData } from 'node:worker_threads';
import { Chunker } from '../chunk';
import { loadTokenCounter } from '../embed/embedder';
import { InlineParser, TermSender, type ParsedFile, type ParseThreadData, type ParseThreadReply, type ParseThreadRequest, type SentFile } from './fileParser';

async function main(): Promise<void> {
  const data = workerData as ParseThreadData;
  const parser = new InlineParser(await Chunker.create(), await loadTokenCounter(data.model), data.settings);
  const terms = new TermSender();
  parentPort!.on('message', (m: ParseThreadRequest) => {
    parser.parse(m.absPath, m.relPath, m.maxBytes).then(
      // Numbered and posted in one step, so the numbers go out in the order they were given.
      (result) => parentPort!.postMessage({ id: m.id, result: forSending(result, terms) } satisfies ParseThreadReply),
      (err: unknown) => parentPort!.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) } satisfies ParseThreadReply),
    );
  });
  parentPort!.postMessage({ ready: true });
}

/**
 * A chunk whose model input is assembled already crosses without its text (left empty): the
 * texts are most of what a file's chunks weigh, and past this point only the model reads them.
 * Terms cross by number.
 */
function forSending(result: ParsedFile, terms: TermSender): SentFile {
  if (!result.ok) return result;
  for (const c of result.chunks) if (c.tokenIds) c.text = '';
  return { ...result, terms: terms.send(result.terms) };
}

void main().catch((err: unknown) => {
  // Surfaces in the parent as a start failure; the indexer then parses inline.
  parentPort!.postMessage({ ready: false, error: String(err) });
});

// Entry of the parsing thread (see ThreadParser): reads and chunks files on request, and embeds
// a batch when the indexer has more parsed than its own model keeps up with.
import { parentPort, workerData } from 'node:worker_threads';
import { Chunker } from '../chunk';
import { loadTokenCounter, TransformersEmbedder } from '../embed/embedder';
import {
  InlineParser, TermSender, unpackTexts,
  type PackedTexts, type ParsedFile, type ParseThreadData, type ParseThreadReply, type ParseThreadRequest, type SentFile,
} from './fileParser';

async function main(): Promise<void> {
  const data = workerData as ParseThreadData;
  const parser = new InlineParser(await Chunker.create(), await loadTokenCounter(data.model), data.settings);
  const terms = new TermSender();
  // One inference thread, as this thread's share of the CPU cap; loaded only if ever asked.
  let embedder: Promise<TransformersEmbedder> | undefined;
  const embed = async (packed: PackedTexts): Promise<{ vectors: Float32Array; dimension: number }> => {
    embedder ??= TransformersEmbedder.load(data.model, { threads: 1 });
    const { texts, ids } = unpackTexts(packed);
    const vectors = await (await embedder).embedDocuments(texts, ids);
    const dimension = vectors[0]?.length ?? 0;
    const matrix = new Float32Array(vectors.length * dimension);
    vectors.forEach((v, i) => matrix.set(v, i * dimension));
    return { vectors: matrix, dimension };
  };
  const fail = (id: number) => (err: unknown) =>
    parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) } satisfies ParseThreadReply);
  const release = async () => {
    const loaded = embedder;
    embedder = undefined;
    await (await loaded?.catch(() => undefined))?.dispose();
  };
  parentPort!.on('message', (m: ParseThreadRequest) => {
    if ('release' in m) {
      release().then(() => parentPort!.postMessage({ id: m.id, released: true } satisfies ParseThreadReply), fail(m.id));
      return;
    }
    if ('embed' in m) {
      embed(m.embed).then(
        ({ vectors, dimension }) => parentPort!.postMessage({ id: m.id, vectors, dimension } satisfies ParseThreadReply, [vectors.buffer as ArrayBuffer]),
        fail(m.id),
      );
      return;
    }
    const { absPath, relPath, maxBytes } = m.parse;
    parser.parse(absPath, relPath, maxBytes).then(
      // Numbered and posted in one step, so the numbers go out in the order they were given.
      (result) => parentPort!.postMessage({ id: m.id, result: forSending(result, terms) } satisfies ParseThreadReply),
      fail(m.id),
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

"""Cut units into chunks that fit the embedding model's window, measured in its own tokens."""
from __future__ import annotations

import functools
from pathlib import Path

from ingest.documents import Chunk, Document, Unit

SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]


@functools.lru_cache(maxsize=2)
def load_tokenizer(model_dir: str):
    """The embedding model's own fast tokenizer (`tokenizers`, Rust), from the packaged model
    folder; no truncation, so that lengths are true lengths. The splitter counts tokens tens of
    thousands of times per corpus: transformers' wrapper around the same tokenizer cost ~9 ms
    per call there, this costs a tenth of that."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class Chunker:
    """Chunk inside units with langchain's recursive splitter, lengths in model tokens."""

    def __init__(self, model_dir: Path, *, chunk_tokens: int, overlap_tokens: int, label_tokens: int,
                 max_tokens: int = 256):
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.tokenizer = load_tokenizer(str(model_dir))
        self.chunk_tokens = chunk_tokens
        self.label_tokens = label_tokens
        self.max_tokens = max_tokens
        self.min_tokens = max(1, chunk_tokens // 4)
        self.splitter = RecursiveCharacterTextSplitter(
            length_function=self.count_tokens, chunk_size=chunk_tokens, chunk_overlap=overlap_tokens,
            separators=SEPARATORS, keep_separator="end", strip_whitespace=True,
        )

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def chunk_document(self, doc: Document, units: list[Unit]) -> list[Chunk]:
        """Chunks of every unit, in document order; none crosses a unit boundary."""
        chunks: list[Chunk] = []
        for unit in units:
            label = self._fit_label(unit.label)
            for start, end in self._spans(doc.text, unit):
                ordinal = len(chunks)
                chunks.append(Chunk(
                    chunk_id=f"{doc.doc_id}:{ordinal}", doc_id=doc.doc_id, ordinal=ordinal,
                    text=doc.text[start:end], start=start, end=end, section=label,
                    page_start=doc.page_at(start), page_end=doc.page_at(max(start, end - 1)),
                    language=doc.meta.language, paragraph=unit.paragraph,
                ))
        return chunks

    def _spans(self, text: str, unit: Unit) -> list[tuple[int, int]]:
        body = text[unit.start:unit.end]
        lead = len(body) - len(body.lstrip())
        stripped = body.strip()
        if not stripped:
            return []
        if self.count_tokens(stripped) <= self.chunk_tokens:
            start = unit.start + lead
            return [(start, start + len(stripped))]
        spans, cursor = [], 0
        for piece in self.splitter.split_text(body):
            found = body.find(piece, cursor)
            if found < 0:  # the splitter only strips whitespace, so this should not happen
                found = body.find(piece)
            if found < 0:
                continue
            spans.append((unit.start + found, unit.start + found + len(piece)))
            cursor = found + 1
        return self._merge_small(text, spans)

    def _merge_small(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Join a piece too small to stand alone (a heading line) with the piece after it,
        as long as the two fit the model's window beside the section label."""
        limit = self.max_tokens - self.label_tokens - 2
        out: list[tuple[int, int]] = []
        i = 0
        while i < len(spans):
            start, end = spans[i]
            while (i + 1 < len(spans) and self.count_tokens(text[start:end]) < self.min_tokens
                   and self.count_tokens(text[start:spans[i + 1][1]]) <= limit):
                end = spans[i + 1][1]
                i += 1
            out.append((start, end))
            i += 1
        return out

    def _fit_label(self, label: str) -> str:
        ids = self.tokenizer.encode(label, add_special_tokens=False).ids
        if len(ids) <= self.label_tokens:
            return label
        return self.tokenizer.decode(ids[: self.label_tokens]).strip() + "…"

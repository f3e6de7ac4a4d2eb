#!/bin/sh
# Rebuilds the demo text models and their fixtures from scratch (run from the repository root):
# tokenizer -> decoder training -> kjv-tiny export + fixtures -> kjv-embed tuning + export.
# Intermediate files go to .tmp/llm/. Minutes of training: TRAIN_MINUTES (22), EMBED_MINUTES (6).
set -eu
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=2
mkdir -p .tmp/llm
$PY tools/llm/bpe.py --vocab-size 1536 --out .tmp/llm/tokenizer.json
nice $PY tools/llm/train.py --minutes "${TRAIN_MINUTES:-22}" --out .tmp/llm/decoder.pt | tee .tmp/llm/train.log
$PY tools/llm/export.py --checkpoint .tmp/llm/decoder.pt
nice $PY tools/llm/embed.py --decoder .tmp/llm/decoder.pt --minutes "${EMBED_MINUTES:-6}" | tee .tmp/llm/embed.log
npx prettier --write test/fixtures/llm

#!/usr/bin/env bash
# Turns ivr-flows/prompts.json into the WAVs that `prompt:<name>` resolves to
# (sound:hotline/<lang>/<name>): espeak-ng speaks, sox makes 8 kHz mono 16-bit PCM for format_wav.
#   prompts.sh [OUT_DIR]   ensures $HOTLINE_CACHE/sounds/<hash>/hotline/<lang>/<name>.wav, copies
#                          hotline/ into OUT_DIR if given, prints the cache folder on stdout.
# The hash covers prompts.json and this script, so changed texts or settings regenerate; a warm
# run only hashes. Fails rather than ship a silent or empty prompt.
set -euo pipefail
. "$(dirname "$0")/common.sh"
out=${1:-}
catalog=${PROMPTS_JSON:-$REPO_ROOT/ivr-flows/prompts.json}
[ -f "$catalog" ] || die "no prompt catalog at $catalog"

hash=$(cat "$catalog" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
cache="$HOTLINE_CACHE/sounds/$hash"

if [ ! -f "$cache/.complete" ]; then
  command -v espeak-ng >/dev/null && command -v sox >/dev/null || die "needs espeak-ng and sox (scripts/lab/provision.sh installs them)"
  log "generating prompts into $cache"
  # Built beside the cache (same filesystem, so the final mv is atomic) and only then renamed.
  mkdir -p "$HOTLINE_CACHE/sounds"
  tmp=$(mktemp -d "$HOTLINE_CACHE/sounds/.tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # One line per prompt and language: name, lang, voice, SSML text. espeak-ng 1.51's `cmn`
  # voice reads each hanzi as pinyin plus an English tone digit ("nin two hao three",
  # espeak-ng issue #1236), so Chinese goes to cmn-latn-pinyin and every Latin run inside it
  # ("For English, press 2.", "30G") is switched to the English voice by SSML.
  node -e '
    const fs = require("fs");
    const { prompts } = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    if (!prompts || !Object.keys(prompts).length) throw new Error("no prompts in " + process.argv[1]);
    const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    for (const [name, texts] of Object.entries(prompts)) {
      if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error("bad prompt name: " + name);
      for (const lang of ["zh", "en"]) if (!texts[lang]) throw new Error(`prompt ${name} has no ${lang} text`);
      for (const [lang, raw] of Object.entries(texts)) {
        if (!/^[a-z]{2}$/.test(lang)) throw new Error(`prompt ${name}: bad language ${lang}`);
        const text = esc(String(raw).replace(/\s+/g, " ").trim());
        const cjk = /[\u3400-\u9fff]/.test(text);
        const ssml = cjk ? text.replace(/[A-Za-z][A-Za-z0-9 ,.\x27?!-]*/g, (m) => `<voice xml:lang="en">${m}</voice>`) : text;
        console.log([name, lang, cjk ? "cmn-latn-pinyin" : "en", `<speak>${ssml}</speak>`].join("\t"));
      }
    }' "$catalog" > "$tmp/list.tsv"
  while IFS=$'\t' read -r name lang voice ssml; do
    f="$tmp/hotline/$lang/$name.wav"
    mkdir -p "$(dirname "$f")"
    printf '%s' "$ssml" | espeak-ng -m -v "$voice" -s 150 --stdin -w "$tmp/raw.wav" || die "espeak-ng failed for $name/$lang"
    # Number words (num_*) are strung together to say a number (src/flows/say-number.ts):
    # espeak-ng's ~0.4 s of silence around each is trimmed so 八十八 sounds like one word.
    trim=(); min=0.3
    case $name in num_*) trim=(silence 1 0.01 1% reverse silence 1 0.01 1% reverse pad 0 0.04); min=0.2 ;; esac
    # Asterisk's format_wav wants exactly 8000 Hz, mono, 16-bit signed; norm evens out loudness.
    sox -q "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$f" "${trim[@]}" norm -3 || die "sox failed for $name/$lang"
    # Duration and peak from one pass: reject short or silent output.
    read -r secs peak < <(sox "$f" -n stat 2>&1 | awk '/^Length/ {l=$3} /^Maximum amplitude/ {m=$3} END {print l+0, m+0}')
    awk -v s="$secs" -v p="$peak" -v min="$min" 'BEGIN { exit !(s >= min && p >= 0.05) }' \
      || die "prompt $name/$lang came out silent or too short (${secs}s, peak $peak)"
  done < "$tmp/list.tsv"
  rm -f "$tmp/raw.wav" "$tmp/list.tsv"
  touch "$tmp/.complete"
  # Another run may have finished the same hash meanwhile: keep theirs, it may be in use.
  if [ -f "$cache/.complete" ]; then rm -rf "$tmp"; else rm -rf "$cache"; mv "$tmp" "$cache"; fi
  trap - EXIT
fi

if [ -n "$out" ]; then
  mkdir -p "$out"
  rm -rf "$out/hotline"
  cp -r "$cache/hotline" "$out/hotline"
fi
echo "$cache"

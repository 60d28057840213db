#!/bin/sh
# bench/models.sh DIR [REPS] - pp512 / tg128 at 1 and 2 threads for the random-weight models
# made by bench/make-model (DIR/qwen-<TYPE>.gguf, DIR/tl-<TYPE>.gguf), beside the reference
# llama.cpp speeds of ../shared/docs/perf.md.  Prints a markdown table.
#   sh bench/make-model qwen2.5-0.5b Q4_K_M /tmp/bm/qwen-Q4_K_M.gguf   (etc.), then
#   sh bench/models.sh /tmp/bm 3
dir=${1:?usage: bench/models.sh DIR [REPS]}; reps=${2:-3}
H=${HEARTH_BIN:-build/hearth}
# reference tokens/s from perf.md: shape type threads pp512 tg64
ref() {
	case "$1 $2 $3" in
	"qwen Q4_0 1") echo "135 18.2" ;;   "qwen Q4_0 2") echo "254 33.8" ;;
	"qwen Q4_K_M 1") echo "85 15.7" ;;  "qwen Q4_K_M 2") echo "164 29.1" ;;
	"qwen Q8_0 1") echo "98 13.3" ;;    "qwen Q8_0 2") echo "176 23.6" ;;
	"qwen f16 1") echo "96 13.7" ;;     "qwen f16 2") echo "192 24.8" ;;
	"tl Q4_0 1") echo "52 10.9" ;;      "tl Q4_0 2") echo "101 19.6" ;;
	"tl Q4_K_M 1") echo "51 10.8" ;;    "tl Q4_K_M 2") echo "95 19.7" ;;
	"tl Q8_0 1") echo "38 6.9" ;;       "tl Q8_0 2") echo "64 13.0" ;;
	*) echo "- -" ;;
	esac
}
echo "| model | type | threads | pp512 tok/s | ref | ratio | tg128 tok/s | ref (tg64) | ratio | peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for shape in qwen tl; do
	for type in Q4_0 Q4_K_M Q8_0 f16; do
		f="$dir/$shape-$type.gguf"
		[ -f "$f" ] || continue
		for t in 1 2; do
			j=$($H bench -m "$f" -p 512 -n 128 -r "$reps" -t "$t" --json 2>/dev/null) || { echo "| $shape | $type | $t | failed |"; continue; }
			pp=$(echo "$j" | sed 's/.*"pp_tps":\([0-9.]*\).*/\1/')
			tg=$(echo "$j" | sed 's/.*"tg_tps":\([0-9.]*\).*/\1/')
			rss=$(echo "$j" | sed 's/.*"peak_rss_mb":\([0-9.]*\).*/\1/')
			set -- $(ref $shape $type $t)
			rp=$1; rt=$2
			ratio() { [ "$2" = - ] && echo - || awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
			name=$([ $shape = qwen ] && echo "Qwen2.5-0.5B" || echo "TinyLlama-1.1B")
			echo "| $name | $type | $t | $pp | $rp | $(ratio $pp $rp) | $tg | $rt | $(ratio $tg $rt) | $rss |"
		done
	done
done

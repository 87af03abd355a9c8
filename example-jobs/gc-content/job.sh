#!/bin/sh
# Example Pond container job: length and GC content of every sequence of a
# FASTA file, with busybox's awk. Reads /input/$1, writes /output/gc.tsv.
set -eu
fasta="/input/${1:?usage: job.sh SEQUENCES.fasta}"
awk '
    function flush() {
        if (name != "") {
            printf "%s\t%d\t%.4f\n", name, length(seq), (length(seq) ? gc / length(seq) : 0)
        }
    }
    /^>/ { flush(); name = substr($1, 2); seq = ""; gc = 0; next }
    {
        line = toupper($0)
        seq = seq line
        gc += gsub(/[GC]/, "", line)
    }
    END { flush() }
' "$fasta" | { printf "sequence\tlength\tgc\n"; sort; } > /output/gc.tsv
echo "gc-content: $(($(wc -l < /output/gc.tsv) - 1)) sequences"

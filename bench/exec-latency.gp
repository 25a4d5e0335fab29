# Exec latency vs N, written by podfence-bench (make bench): podfence runs one
# program whatever N; the baseline attaches one program per policy.
# Set by the caller: datafile (one block per series: a title line, then
# "N median p99 overhead%"), outfile, none (median with nothing attached, us).
set terminal pngcairo size 1000,900 font "DejaVu Sans,11"
set output outfile
set multiplot layout 2,1 title "posix\\_spawn + wait of a static no-op in a pod cgroup selected by one policy"
set logscale x
set xrange [0.7:150000]
set format x "%.0s%c"
set grid
set key left bottom box opaque
set style line 1 lc rgb "#1b7837" lw 2 pt 7
set style line 2 lc rgb "#5aae61" lw 2 pt 5
set style line 3 lc rgb "#2166ac" lw 2 pt 9
set style line 4 lc rgb "#67a9cf" lw 2 pt 11
set style line 5 lc rgb "#b2182b" lw 2 pt 13

set title "median exec latency"
set ylabel "microseconds"
set yrange [0:*]
unset xlabel
plot none with lines lc rgb "#444444" lw 1.5 dt 2 title sprintf("no podfence (%.0f us)", none), \
     for [i=0:4] datafile index i using 1:2 with linespoints ls (i+1) title columnheader(1)

set title "overhead: median over rounds of (batch median / paired no-podfence batch median) - 1"
set ylabel "percent"
set xlabel "N (policies or bindings loaded; baseline: programs attached)"
set yrange [*:*]
set key left top box opaque
plot 2 with lines lc rgb "#999999" lw 1 dt 3 title "target: +2%", \
     0 with lines lc rgb "#444444" lw 1.5 dt 2 notitle, \
     for [i=0:4] datafile index i using 1:4 with linespoints ls (i+1) notitle
unset multiplot

/**
 * dataCount counts the non-zero values an ECharts option draws (every series' data, whatever the
 * datum's shape: 3, [t, 3], { value: 3 }, { value: [t, 3] }). The chart components expose it as
 * data-values, so a test can tell a chart with data from an empty frame. A gauge's value counts
 * even when it is 0 (0 % of today's patrols done at 01:30 is a reading, not a missing one).
 */
export function dataCount(option: unknown): number {
  const series = (option as { series?: unknown })?.series
  const list = Array.isArray(series) ? series : series ? [series] : []
  let n = 0
  for (const s of list) {
    const data = (s as { data?: unknown[] })?.data
    const gauge = (s as { type?: string })?.type === 'gauge'
    if (!Array.isArray(data)) continue
    for (const d of data) {
      let v: unknown = d && typeof d === 'object' && !Array.isArray(d) ? (d as { value?: unknown }).value : d
      if (Array.isArray(v)) v = v[v.length - 1]
      const x = typeof v === 'string' ? Number(v) : v
      if (typeof x === 'number' && Number.isFinite(x) && (x !== 0 || gauge)) n++
    }
  }
  return n
}

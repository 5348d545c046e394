// The parts of ECharts the portal's charts use: importing echarts/core with only these keeps
// the chart chunk small (the full library is several times larger).
import * as echarts from 'echarts/core'
import { BarChart, LineChart } from 'echarts/charts'
import { DataZoomComponent, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

echarts.use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, MarkLineComponent, DataZoomComponent, CanvasRenderer])

export { echarts }
export type { EChartsCoreOption } from 'echarts/core'

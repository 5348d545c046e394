// ECharts with only the parts the dashboard draws (tree-shaken: echarts/core, not the whole library).
import * as echarts from 'echarts/core'
import { BarChart, GaugeChart, PieChart } from 'echarts/charts'
import { GridComponent, TooltipComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

echarts.use([BarChart, GaugeChart, PieChart, GridComponent, TooltipComponent, CanvasRenderer])

export { echarts }
export type EChartsOption = Parameters<echarts.ECharts['setOption']>[0]

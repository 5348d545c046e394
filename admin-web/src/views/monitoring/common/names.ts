/** Chinese names and tag colours of the monitoring and warning codes (server/alert/alert.go). */

export const alertStatusNames: Record<string, string> = {
  new: '待确认', acknowledged: '已确认', disposing: '处置中', closed: '已关闭', false_alarm: '误报',
}
export const alertStatusTags: Record<string, 'danger' | 'warning' | 'primary' | 'success' | 'info'> = {
  new: 'danger', acknowledged: 'warning', disposing: 'primary', closed: 'success', false_alarm: 'info',
}
export const tierNames: Record<string, string> = { enterprise: '企业', township: '乡镇（街道）', county: '区县' }
export const alertKindNames: Record<string, string> = { threshold: '超限报警', offline: '设备离线', quality: '数据异常' }
export const channelNames: Record<string, string> = { app: '平台（App）', fcm: '手机推送', sms: '短信', zzd: '浙政钉', dingtalk: '钉钉群' }
export const deliveryStatusNames: Record<string, string> = { sent: '已发送', delivered: '已送达', failed: '失败', pending: '待发送', skipped: '未发送' }

/** Alert levels: 1 is the lowest. Tag colours from blue (1) to red (4). */
export const levelNames: Record<number, string> = { 1: '一级', 2: '二级', 3: '三级', 4: '四级' }
export function levelTag(level?: number): 'info' | 'primary' | 'warning' | 'danger' {
  if (!level || level <= 1) return 'primary'
  if (level === 2) return 'warning'
  return 'danger'
}

/** name looks a code up in a table of names, falling back to the code. */
export function nameOf(table: Record<string | number, string>, code?: string | number | null): string {
  if (code === undefined || code === null || code === '') return ''
  return table[code] ?? String(code)
}

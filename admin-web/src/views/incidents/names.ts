/** Chinese names of the incident codes (the server's incident and plan packages). */
export const classNames: Record<string, string> = { natural: '自然灾害', accident: '事故灾难', health: '公共卫生事件', social: '社会安全事件' }
export const statusNames: Record<string, string> = { reported: '已接报', responding: '响应中', terminated: '已终止' }
export const statusTags: Record<string, 'danger' | 'warning' | 'info' | 'success'> = { reported: 'warning', responding: 'danger', terminated: 'info' }
export const sourceNames: Record<string, string> = { phone: '电话接报', alert: '预警转事件', field: '现场上报', portal: '门户录入' }
export const grades = ['特别重大', '重大', '较大', '一般']
export const levelNames: Record<number, string> = { 0: '未响应', 1: '一级', 2: '二级', 3: '三级', 4: '四级' }
export const actionNames: Record<string, string> = { start: '启动响应', raise: '提升响应级别', lower: '降低响应级别', terminate: '终止响应' }
export const stateNames: Record<string, string> = { proposed: '待审批', approved: '已批准', rejected: '已驳回' }
export const groupNames: Record<string, string> = { hq: '应急指挥部', onsite: '现场指挥部', team: '救援队伍', member: '群组成员' }
export const opts = (m: Record<string, string>) => Object.entries(m).map(([value, label]) => ({ label, value }))

import { api, must } from '@/api/client'
import { ApiError } from '@/api/errors'

/** Chinese names of the hazard statuses and levels (server/hazard/collection.go). */
export const hazardStatusNames: Record<string, string> = {
  reported: '已上报', assigned: '已交办', rectifying: '整改中', submitted: '待验收', accepted: '已验收',
}
export const hazardStatusTags: Record<string, 'danger' | 'warning' | 'primary' | 'success' | 'info'> = {
  reported: 'danger', assigned: 'warning', rectifying: 'primary', submitted: 'warning', accepted: 'success',
}
export const hazardLevelNames: Record<string, string> = { general: '一般隐患', major: '重大隐患' }

/** A workflow step a user may take on a hazard. */
export interface Step {
  step: 'assign' | 'rectify' | 'submit' | 'accept' | 'send_back'
  name: string
  to: string
  /** The kind of the hazard_actions row that records the step's note. */
  action: string
}

const admins = ['city_admin', 'district_admin', 'township_admin']
const enterprise = ['safety_officer', 'enterprise_principal']

/** Who may take each step: the same table as stepRoles in server/hazard/workflow.go. */
const stepRoles: Record<Step['step'], string[]> = {
  assign: [...admins, 'enterprise_principal'],
  rectify: [...admins, ...enterprise],
  submit: enterprise,
  accept: admins,
  send_back: admins,
}

const allSteps: (Step & { from: string[] })[] = [
  { step: 'assign', name: '交办', from: ['reported'], to: 'assigned', action: 'assign' },
  { step: 'rectify', name: '开始整改', from: ['reported', 'assigned'], to: 'rectifying', action: 'rectify' },
  { step: 'submit', name: '提交验收', from: ['rectifying'], to: 'submitted', action: 'submit' },
  { step: 'accept', name: '验收通过', from: ['submitted'], to: 'accepted', action: 'accept' },
  { step: 'send_back', name: '退回整改', from: ['submitted'], to: 'rectifying', action: 'reject' },
]

/**
 * stepsFor lists the steps a role may take on a hazard in a status, by the server's rules
 * (a major hazard is accepted by a district or city administrator only). The server enforces
 * the same rules and the scope; the portal only hides what would be refused.
 */
export function stepsFor(role: string | undefined, status: string | undefined, level: string | undefined): Step[] {
  if (!role || !status) return []
  return allSteps
    .filter((s) => s.from.includes(status) && stepRoles[s.step].includes(role))
    .filter((s) => !(s.step === 'accept' && level === 'major' && role === 'township_admin'))
    .map(({ from: _from, ...s }) => s)
}

function uuid(): string {
  const b = new Uint8Array(16)
  crypto.getRandomValues(b)
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

function deviceId(): string {
  return localStorage.getItem('yingji.device') || 'web-portal'
}

let lastWall = 0
let counter = 0
/** hlc makes a hybrid logical clock stamp in the sync protocol's fixed-width form. */
export function hlc(now = Date.now(), node = deviceId()): string {
  if (now <= lastWall) {
    counter++
    now = lastWall
  } else {
    lastWall = now
    counter = 0
  }
  return `${String(now).padStart(16, '0')}-${String(counter).padStart(5, '0')}-${node}`
}

/** Mutation of a synced record, as POST /api/v1/sync/push takes it. */
interface Mutation {
  collection: string
  id: string
  op: 'create' | 'update'
  fields: Record<string, unknown>
  base?: Record<string, unknown>
}

/**
 * push sends one change through the sync endpoint (hazards are written by sync, also from the
 * office) and throws an ApiError with the server's Chinese reason when it is rejected.
 */
export async function push(m: Mutation): Promise<void> {
  const body = {
    protocol: 1,
    device_id: deviceId(),
    mutations: [{ mutation_id: uuid(), collection: m.collection, id: m.id, op: m.op, base_seq: 0, fields: m.fields, base: m.base, hlc: hlc() }],
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const res = await must(api.POST('/api/v1/sync/push', { body: body as any }))
  const r = res.results?.[0]
  if (!r || r.status === 'rejected') throw new ApiError(409, { code: r?.code ?? 'sync.rejected', message: r?.message || '操作被服务器拒绝' })
}

/** takeStep moves a hazard by a workflow step, then records the note (and the assignee) on its timeline. */
export async function takeStep(hazardId: string, step: Step, fields: Record<string, unknown>, note: string, base?: Record<string, unknown>) {
  await push({ collection: 'hazards', id: hazardId, op: 'update', fields: { ...fields, status: step.to }, base })
  const assignee = typeof fields.rectifier_id === 'string' ? fields.rectifier_id : ''
  if (note.trim() || assignee) {
    await push({ collection: 'hazard_actions', id: uuid(), op: 'create',
      fields: { hazard_id: hazardId, kind: step.action, text: note.trim(), assignee, at: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } })
  }
}

/** reportHazard creates a hazard (status reported) and returns its id. */
export async function reportHazard(fields: { title: string; description: string; enterprise_id: string; level: string }): Promise<string> {
  const id = uuid()
  await push({ collection: 'hazards', id, op: 'create', fields: { ...fields, reported_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } })
  return id
}

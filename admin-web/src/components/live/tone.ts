/**
 * A short two-note alert tone made with the Web Audio API (no audio file). It never throws:
 * where audio is blocked (no user gesture yet, no audio device, an old browser) it stays silent.
 */
type AudioCtor = typeof AudioContext

let ctx: AudioContext | null = null

function audioContext(): AudioContext | null {
  const w = window as unknown as { AudioContext?: AudioCtor; webkitAudioContext?: AudioCtor }
  const Ctor = w.AudioContext || w.webkitAudioContext
  if (!Ctor) return null
  // Browsers refuse to start audio before the user has interacted with the page: do not even
  // try then (Chrome would warn in the console).
  const activation = (navigator as Navigator & { userActivation?: { hasBeenActive: boolean } }).userActivation
  if (activation && !activation.hasBeenActive) return null
  if (!ctx) ctx = new Ctor()
  return ctx
}

/** playAlertTone plays about 0.6 s of tone: higher and three notes for escalations. */
export function playAlertTone(urgent = false): void {
  try {
    const ac = audioContext()
    if (!ac) return
    if (ac.state === 'suspended') ac.resume().catch(() => {})
    const notes = urgent ? [988, 784, 988] : [880, 660]
    const start = ac.currentTime + 0.02
    notes.forEach((freq, i) => {
      const osc = ac.createOscillator()
      const gain = ac.createGain()
      osc.type = 'sine'
      osc.frequency.value = freq
      const t = start + i * 0.2
      gain.gain.setValueAtTime(0.0001, t)
      gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02)
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.18)
      osc.connect(gain)
      gain.connect(ac.destination)
      osc.start(t)
      osc.stop(t + 0.2)
    })
  } catch {
    // audio is a courtesy: the notification is what matters
  }
}

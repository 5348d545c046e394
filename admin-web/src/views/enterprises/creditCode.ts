/**
 * The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters of
 * 0-9 and A-Z without I, O, S, V, Z; the 18th is a check character over the first 17
 * (weights 3^i mod 31; value 31 − Σ mod 31, 31 meaning 0). The server checks it too.
 */
const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

/** checkChar returns the 18th character for the first 17, or '' when one is not allowed. */
export function checkChar(first17: string): string {
  let sum = 0
  for (let i = 0; i < 17; i++) {
    const v = ALPHABET.indexOf(first17[i] ?? '')
    if (v < 0) return ''
    sum += v * WEIGHTS[i]
  }
  return ALPHABET[(31 - (sum % 31)) % 31]
}

/** validCreditCode reports whether s is a credit code with the right check character. */
export function validCreditCode(s: string): boolean {
  const c = s.trim().toUpperCase()
  return c.length === 18 && checkChar(c.slice(0, 17)) === c[17]
}

/** The example shown in the enterprise form: a valid code that no demo enterprise uses. */
export const EXAMPLE_CREDIT_CODE = '91339901MA2199999H'

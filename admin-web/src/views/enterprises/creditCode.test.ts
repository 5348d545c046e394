import { describe, expect, test } from 'vitest'
import { EXAMPLE_CREDIT_CODE, checkChar, validCreditCode } from './creditCode'

describe('credit code (GB 32100)', () => {
  test('the example of the enterprise form is valid', () => {
    expect(validCreditCode(EXAMPLE_CREDIT_CODE)).toBe(true)
  })
  test('a known published code checks, a changed check character does not', () => {
    // 91350100M000100Y43 is the check example of GB 32100-2015's annex
    expect(checkChar('91350100M000100Y4')).toBe('3')
    expect(validCreditCode('91350100M000100Y44')).toBe(false)
    expect(validCreditCode('91339901MA21000001')).toBe(false)
  })
})

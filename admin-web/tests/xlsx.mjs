// Fills the server's Excel import template with rows: the header row of the template's first
// sheet is kept, data rows are appended as inline strings, and the workbook is zipped again.
import { unzipSync, zipSync, strFromU8, strToU8 } from 'fflate'

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

function colName(i) {
  let s = ''
  for (i += 1; i > 0; i = Math.floor((i - 1) / 26)) s = String.fromCharCode(65 + ((i - 1) % 26)) + s
  return s
}

/** headers returns the titles of the first row of the first sheet. */
export function headers(template) {
  const files = unzipSync(new Uint8Array(template))
  const xml = strFromU8(files['xl/worksheets/sheet1.xml'])
  const row = /<row r="1"[^>]*>(.*?)<\/row>/s.exec(xml)[1]
  return [...row.matchAll(/<t[^>]*>(.*?)<\/t>/g)].map((m) => m[1])
}

/** fill returns the template with the rows (objects keyed by header title) from row 2 on. */
export function fill(template, rows) {
  const files = unzipSync(new Uint8Array(template))
  const name = 'xl/worksheets/sheet1.xml'
  let xml = strFromU8(files[name])
  const titles = headers(template)
  const body = rows.map((r, i) => {
    const n = i + 2
    const cells = titles.map((t, c) => (r[t] === undefined || r[t] === '' ? '' :
      `<c r="${colName(c)}${n}" t="inlineStr"><is><t>${esc(r[t])}</t></is></c>`)).join('')
    return `<row r="${n}">${cells}</row>`
  }).join('')
  xml = xml.replace('</sheetData>', body + '</sheetData>')
  files[name] = strToU8(xml)
  return Buffer.from(zipSync(files))
}

const alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

/** creditCode completes 17 characters with the GB 32100 check character. */
export function creditCode(first17) {
  const sum = [...first17].reduce((s, ch, i) => s + alphabet.indexOf(ch) * weights[i], 0)
  return first17 + alphabet[(31 - (sum % 31)) % 31]
}

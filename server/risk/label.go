package risk

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"strings"

	"github.com/skip2/go-qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// A4 at 300 dpi.
const (
	SheetWidth  = 2480
	SheetHeight = 3508
)

// Label grid on the sheet: 3 × 4 labels with margins.
const (
	labelCols   = 3
	labelRows   = 4
	sheetMargin = 90
	labelGap    = 30
	qrSize      = 520
)

// PerSheet is how many labels one A4 sheet holds.
const PerSheet = labelCols * labelRows

// Label is one printed label: the point and the token its QR code carries.
type Label struct {
	Point RiskPoint
	Token string
}

// LevelColor is the colour of a risk level on labels and maps.
func LevelColor(l Level) color.RGBA {
	switch l {
	case LevelRed:
		return color.RGBA{0xE0, 0x20, 0x20, 0xff}
	case LevelOrange:
		return color.RGBA{0xF5, 0x8A, 0x07, 0xff}
	case LevelYellow:
		return color.RGBA{0xF2, 0xC8, 0x11, 0xff}
	case LevelBlue:
		return color.RGBA{0x1F, 0x6F, 0xD0, 0xff}
	}
	return color.RGBA{0x80, 0x80, 0x80, 0xff}
}

// QRPNG returns a PNG of the QR code of token, size pixels square.
func QRPNG(token string, size int) ([]byte, error) {
	return qrcode.Encode(token, qrcode.Medium, size)
}

// cjkFontPaths are where Debian and common systems keep a font with Chinese glyphs. The
// collections (.ttc) of fonts-wqy-microhei, fonts-wqy-zenhei and fonts-arphic-uming did not
// parse with x/image's sfnt ("invalid table offset"; fonts-noto-cjk untried); the single
// TrueType font of Debian's fonts-droid-fallback does, so it comes first.
var cjkFontPaths = []string{
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
	"/usr/share/fonts/truetype/arphic/uming.ttc",
}

// LabelFonts renders label text: a CJK font when the system has one, else Go Bold, which has
// no Chinese glyphs; CJK reports which.
type LabelFonts struct {
	font *sfnt.Font
	CJK  bool
}

// LoadLabelFonts finds a CJK font among the known system paths (the first that parses), else
// falls back to the embedded Go Bold font.
func LoadLabelFonts() (*LabelFonts, error) {
	for _, p := range cjkFontPaths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if c, err := opentype.ParseCollection(b); err == nil && c.NumFonts() > 0 {
			if f, err := c.Font(0); err == nil {
				return &LabelFonts{font: f, CJK: true}, nil
			}
		}
		if f, err := opentype.Parse(b); err == nil {
			return &LabelFonts{font: f, CJK: true}, nil
		}
	}
	f, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, err
	}
	return &LabelFonts{font: f}, nil
}

func (lf *LabelFonts) face(size float64) (font.Face, error) {
	opt := &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull}
	f, err := opentype.NewFace(lf.font, opt)
	if err != nil || !lf.CJK {
		return f, err
	}
	// CJK fonts such as Droid Sans Fallback have no Latin letters or digits: those come from
	// Go Bold, glyph by glyph.
	latin, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, err
	}
	lface, err := opentype.NewFace(latin, opt)
	if err != nil {
		return nil, err
	}
	return fallbackFace{f, lface}, nil
}

// fallbackFace draws each rune with the first face that has a glyph for it.
type fallbackFace []font.Face

func (ff fallbackFace) pick(r rune) font.Face {
	for _, f := range ff {
		if _, ok := f.GlyphAdvance(r); ok {
			return f
		}
	}
	return ff[0]
}

func (ff fallbackFace) Close() error { return nil }

func (ff fallbackFace) Glyph(dot fixed.Point26_6, r rune) (image.Rectangle, image.Image, image.Point, fixed.Int26_6, bool) {
	return ff.pick(r).Glyph(dot, r)
}

func (ff fallbackFace) GlyphBounds(r rune) (fixed.Rectangle26_6, fixed.Int26_6, bool) {
	return ff.pick(r).GlyphBounds(r)
}

func (ff fallbackFace) GlyphAdvance(r rune) (fixed.Int26_6, bool) { return ff.pick(r).GlyphAdvance(r) }

func (ff fallbackFace) Kern(r0, r1 rune) fixed.Int26_6 { return 0 }

func (ff fallbackFace) Metrics() font.Metrics { return ff[0].Metrics() }

// ascii keeps what Go Bold can draw.
func (lf *LabelFonts) text(s string) string {
	if lf.CJK {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// levelText is the level as printed: 红色 重大风险, or RED without a CJK font.
func (lf *LabelFonts) levelText(l Level) string {
	if lf.CJK {
		return l.Name() + "色 " + l.LongName()
	}
	return strings.ToUpper(string(l))
}

// drawText writes s with its left baseline at (x, y), clipped to width w (cut with "…").
func drawText(dst draw.Image, face font.Face, c color.Color, x, y, w int, s string) {
	d := &font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: face}
	if d.MeasureString(s).Ceil() > w {
		rs := []rune(s)
		for len(rs) > 0 && d.MeasureString(string(rs)+"...").Ceil() > w {
			rs = rs[:len(rs)-1]
		}
		s = string(rs) + "..."
	}
	d.Dot = fixed.P(x, y)
	d.DrawString(s)
}

// LabelSheet draws up to PerSheet labels on an A4 sheet at 300 dpi and returns the PNG. Each
// label holds the QR code, the level colour band and text, the point's code and its name
// (the name only with a CJK font).
func (lf *LabelFonts) LabelSheet(labels []Label) ([]byte, error) {
	if len(labels) > PerSheet {
		return nil, fmt.Errorf("risk: %d labels do not fit one sheet of %d", len(labels), PerSheet)
	}
	img := image.NewRGBA(image.Rect(0, 0, SheetWidth, SheetHeight))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	big, err := lf.face(64)
	if err != nil {
		return nil, err
	}
	small, err := lf.face(44)
	if err != nil {
		return nil, err
	}
	lw := (SheetWidth - 2*sheetMargin - (labelCols-1)*labelGap) / labelCols
	lh := (SheetHeight - 2*sheetMargin - (labelRows-1)*labelGap) / labelRows
	grey := color.RGBA{0xA0, 0xA0, 0xA0, 0xff}
	for i, l := range labels {
		x0 := sheetMargin + (i%labelCols)*(lw+labelGap)
		y0 := sheetMargin + (i/labelCols)*(lh+labelGap)
		r := image.Rect(x0, y0, x0+lw, y0+lh)
		// cut line
		for _, e := range []image.Rectangle{{r.Min, image.Pt(r.Max.X, r.Min.Y+3)}, {image.Pt(r.Min.X, r.Max.Y-3), r.Max},
			{r.Min, image.Pt(r.Min.X+3, r.Max.Y)}, {image.Pt(r.Max.X-3, r.Min.Y), r.Max}} {
			draw.Draw(img, e, image.NewUniform(grey), image.Point{}, draw.Src)
		}
		lc := LevelColor(l.Point.Level)
		band := image.Rect(r.Min.X+3, r.Min.Y+3, r.Max.X-3, r.Min.Y+100)
		draw.Draw(img, band, image.NewUniform(lc), image.Point{}, draw.Src)
		fg := color.Color(color.White)
		if l.Point.Level == LevelYellow {
			fg = color.Black
		}
		drawText(img, small, fg, band.Min.X+30, band.Min.Y+66, band.Dx()-60, lf.levelText(l.Point.Level))

		q, err := qrcode.New(l.Token, qrcode.Medium)
		if err != nil {
			return nil, err
		}
		q.DisableBorder = false
		qimg := q.Image(qrSize)
		qx := r.Min.X + (lw-qrSize)/2
		qy := band.Max.Y + 20
		draw.Draw(img, image.Rect(qx, qy, qx+qrSize, qy+qrSize), qimg, image.Point{}, draw.Src)

		ty := qy + qrSize + 70
		drawText(img, big, color.Black, r.Min.X+30, ty, lw-60, lf.text(l.Point.Code))
		if name := lf.text(l.Point.Name); strings.TrimSpace(name) != "" {
			drawText(img, small, color.Black, r.Min.X+30, ty+66, lw-60, name)
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

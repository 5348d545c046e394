package mediasvc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // decoders for thumbnails
	"io"
	"slices"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/webp"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/server/yingji"
)

// ThumbWidths are the widths of the thumbnails, in pixels of the upright picture.
var ThumbWidths = []int{320, 1280}

// MaxPixels bounds the pictures the server decodes (a 108-megapixel phone photo passes).
const MaxPixels = 120_000_000

const thumbQuality = 82

// ThumbKey is where the thumbnail of that width is cached in the media store.
func ThumbKey(sha string, width int) media.Key {
	return media.Key(fmt.Sprintf("thumbs/%d/%s.jpg", width, sha))
}

func noThumb(format string, args ...any) error {
	return yingji.Errorf(yingji.ENOTFOUND, "media.no_thumbnail", format, args...)
}

// Thumb opens the JPEG thumbnail of a photo the actor may read, generating both sizes from the
// original on first request (one decode) and caching them in the store.
func (s *Service) Thumb(ctx context.Context, a *yingji.Actor, sha string, width int) (io.ReadCloser, media.Info, error) {
	if !slices.Contains(ThumbWidths, width) {
		return nil, media.Info{}, yingji.Invalid("media.bad_width", "width", "缩略图宽度只能是 320 或 1280")
	}
	st, err := s.authorize(ctx, a, sha, "media.read")
	if err != nil {
		return nil, media.Info{}, err
	}
	if st.obj == nil {
		return nil, media.Info{}, yingji.Errorf(yingji.ENOTFOUND, "media.not_ready", "文件尚未上传完成（上传中）")
	}
	if st.obj.Kind != KindPhoto {
		return nil, media.Info{}, noThumb("该文件是%s，没有缩略图", kindNames[st.obj.Kind])
	}
	key := ThumbKey(sha, width)
	rc, info, err := s.Store.Get(ctx, key, 0, -1)
	if err == nil || !errors.Is(err, media.ErrNotFound) {
		return rc, info, err
	}
	if err := s.makeThumbs(ctx, *st.obj); err != nil {
		return nil, media.Info{}, err
	}
	return s.Store.Get(ctx, key, 0, -1)
}

// makeThumbs generates and stores every thumbnail of a photo, once: concurrent requests for
// the same photo wait for the first.
func (s *Service) makeThumbs(ctx context.Context, o object) error {
	defer s.thumbing.lock(o.SHA256)()
	missing := false
	for _, w := range ThumbWidths {
		if _, err := s.Store.Stat(ctx, ThumbKey(o.SHA256, w)); errors.Is(err, media.ErrNotFound) {
			missing = true
		} else if err != nil {
			return err
		}
	}
	if !missing {
		return nil
	}
	select {
	case s.decoding <- struct{}{}:
		defer func() { <-s.decoding }()
	case <-ctx.Done():
		return ctx.Err()
	}
	rc, _, err := s.Store.Get(ctx, media.Original(o.SHA256), 0, -1)
	if err != nil {
		return fmt.Errorf("media: thumbnails of %s: %w", o.SHA256, err)
	}
	data, err := io.ReadAll(io.LimitReader(rc, max(o.Size, s.cfg.MaxPhoto)+1))
	rc.Close()
	if err != nil {
		return fmt.Errorf("media: thumbnails of %s: %w", o.SHA256, err)
	}
	thumbs, err := Thumbnails(data, ThumbWidths...)
	if err != nil {
		s.Log.Info("no thumbnail", "sha256", o.SHA256, "content_type", o.ContentType, "err", err)
		return noThumb("无法为该照片生成缩略图（%s）", o.ContentType)
	}
	for i, w := range ThumbWidths {
		if _, err := s.Store.Put(ctx, ThumbKey(o.SHA256, w), bytes.NewReader(thumbs[i]), int64(len(thumbs[i])),
			media.PutOptions{ContentType: "image/jpeg"}); err != nil {
			return fmt.Errorf("media: store thumbnail: %w", err)
		}
	}
	return nil
}

// Thumbnails decodes a picture once and encodes an upright JPEG of each width (never wider
// than the picture): turned as its EXIF orientation says, a transparent background made white.
// Larger widths come first from the original, smaller ones from the larger result.
func Thumbnails(data []byte, widths ...int) ([][]byte, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("%d×%d pixels is over the limit of %d", cfg.Width, cfg.Height, MaxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	orient := orientation(data)
	turned := orient >= 5 && orient <= 8 // upright width is the stored height

	order := make([]int, len(widths))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return widths[b] - widths[a] })
	out := make([][]byte, len(widths))
	src := img
	for _, i := range order {
		w := widths[i]
		b := src.Bounds()
		uprightW := b.Dx()
		if turned {
			uprightW = b.Dy()
		}
		if w < uprightW {
			if turned {
				src = imaging.Resize(src, 0, w, imaging.Linear)
			} else {
				src = imaging.Resize(src, w, 0, imaging.Linear)
			}
		}
		upright := flatten(orientImage(src, orient))
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, upright, &jpeg.Options{Quality: thumbQuality}); err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		out[i] = buf.Bytes()
	}
	return out, nil
}

// orientImage applies an EXIF orientation (1–8).
func orientImage(img image.Image, o int) image.Image {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}

// flatten puts a picture that may be transparent on white, and hands the JPEG encoder an
// image type it has a fast path for: an opaque NRGBA has the bytes of an RGBA.
func flatten(img image.Image) image.Image {
	switch m := img.(type) {
	case *image.YCbCr, *image.Gray, *image.RGBA:
		return img
	case *image.NRGBA:
		if !m.Opaque() {
			bg := imaging.New(m.Bounds().Dx(), m.Bounds().Dy(), color.White)
			m = imaging.Overlay(bg, m, image.Point{}, 1)
		}
		return &image.RGBA{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
	}
	bg := imaging.New(img.Bounds().Dx(), img.Bounds().Dy(), color.White)
	m := imaging.Overlay(bg, img, image.Point{}, 1)
	return &image.RGBA{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
}

// orientation reads the EXIF orientation (tag 0x0112 of IFD0) of a JPEG; 1 when absent.
func orientation(data []byte) int {
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	tiff := jpegTIFF(bytes.NewReader(data[2:]))
	if len(tiff) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(tiff[4:8]))
	if off < 8 || off+2 > len(tiff) {
		return 1
	}
	n := int(bo.Uint16(tiff[off:]))
	for i := 0; i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > len(tiff) {
			return 1
		}
		if bo.Uint16(tiff[e:]) == 0x0112 && bo.Uint16(tiff[e+2:]) == 3 { // SHORT
			if v := int(bo.Uint16(tiff[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

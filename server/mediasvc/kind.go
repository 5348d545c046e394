package mediasvc

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/gabriel-vasile/mimetype"

	"github.com/yingji/yingji/server/yingji"
)

// Kinds of media.
const (
	KindPhoto = "photo"
	KindVideo = "video"
	KindAudio = "audio"
	KindPDF   = "pdf"
)

var kindNames = map[string]string{KindPhoto: "照片", KindVideo: "视频", KindAudio: "音频", KindPDF: "PDF 文件"}

// accepted maps the types content sniffing recognises to kinds; any audio/* is audio too.
// The type a client declares is never trusted.
var accepted = map[string]string{
	"image/jpeg":      KindPhoto,
	"image/png":       KindPhoto,
	"image/heic":      KindPhoto,
	"image/heif":      KindPhoto,
	"image/webp":      KindPhoto,
	"video/mp4":       KindVideo,
	"video/x-m4v":     KindVideo,
	"video/quicktime": KindVideo,
	"video/3gpp":      KindVideo,
	"application/pdf": KindPDF,
}

// sniffLen is how many leading bytes content sniffing reads.
const sniffLen = 3072

// sniff returns the content type and kind of a file from its first bytes; kind is "" for a
// type that is not accepted.
func sniff(head []byte) (contentType, kind string) {
	ct := mimetype.Detect(head).String()
	if t, _, err := mime.ParseMediaType(ct); err == nil {
		ct = t
	}
	if k, ok := accepted[ct]; ok {
		return ct, k
	}
	if strings.HasPrefix(ct, "audio/") {
		return ct, KindAudio
	}
	return ct, ""
}

// limit is the size limit of a kind.
func (c Config) limit(kind string) int64 {
	switch kind {
	case KindPhoto:
		return c.MaxPhoto
	case KindVideo:
		return c.MaxVideo
	case KindAudio:
		return c.MaxAudio
	case KindPDF:
		return c.MaxPDF
	}
	return 0
}

// maxSize is the largest size any kind allows.
func (c Config) maxSize() int64 { return max(c.MaxPhoto, c.MaxVideo, c.MaxAudio, c.MaxPDF) }

// declaredKind guesses the kind from a declared content type, to refuse an oversized upload
// before any byte arrives; the sniffed type decides in the end.
func declaredKind(ct string) string {
	t, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	if k, ok := accepted[t]; ok {
		return k
	}
	switch {
	case strings.HasPrefix(t, "image/"):
		return KindPhoto
	case strings.HasPrefix(t, "video/"):
		return KindVideo
	case strings.HasPrefix(t, "audio/"):
		return KindAudio
	}
	return ""
}

// classify checks a file's first bytes and size against the accepted types and the limits.
func (c Config) classify(head []byte, size int64) (contentType, kind string, err error) {
	contentType, kind = sniff(head)
	if kind == "" {
		e := yingji.Errorf(yingji.EINVALID, "media.type_not_allowed",
			"不支持的文件类型（识别为 %s）：只能上传照片（JPEG、PNG、HEIC、WebP）、视频（MP4、MOV）、音频或 PDF 文件", contentType)
		return contentType, "", withStatus(http.StatusUnsupportedMediaType, e.WithData(map[string]any{"detected_type": contentType}))
	}
	return contentType, kind, c.checkSize(kind, size)
}

// checkSize refuses a file over its kind's limit, or over every limit when kind is "".
func (c Config) checkSize(kind string, size int64) error {
	limit, what := c.maxSize(), "文件"
	if kind != "" {
		limit, what = c.limit(kind), kindNames[kind]
	}
	if size <= limit {
		return nil
	}
	e := yingji.Errorf(yingji.ETOOLARGE, "media.too_large", "%s不能超过 %s（该文件 %s）", what, humanBytes(limit), humanBytes(size))
	return e.WithData(map[string]any{"limit_bytes": limit, "size": size, "kind": kind})
}

// humanBytes writes a size the way people read it: 30 MiB, 1 GiB, 1.5 MiB, 800 字节.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d 字节", n)
}

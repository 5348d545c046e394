package mediasvc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/server/yingji"
)

// Original is an original opened for download. It reads and seeks (http.ServeContent serves
// Range requests with it): a read at another position than the open reader's reopens the
// store object there.
type Original struct {
	Info
	ctx   context.Context
	store media.Store
	pos   int64         // where the next read starts
	rc    io.ReadCloser // open at rcPos
	rcPos int64
}

// OpenOriginal opens the original of an object the actor may read and audits the download
// (action media.download) with how it came (via: "token" or "signed_url") and the range asked.
func (s *Service) OpenOriginal(ctx context.Context, a *yingji.Actor, sha, via, rangeHeader string) (*Original, error) {
	st, err := s.authorize(ctx, a, sha, "media.download")
	if err != nil {
		return nil, err
	}
	if st.obj == nil {
		return nil, yingji.Errorf(yingji.ENOTFOUND, "media.not_ready", "文件尚未上传完成（上传中）")
	}
	detail := map[string]any{"via": via, "size": st.obj.Size, "content_type": st.obj.ContentType}
	if rangeHeader != "" {
		detail["range"] = rangeHeader
	}
	rc, _, err := s.Store.Get(ctx, media.Original(sha), 0, -1)
	if err != nil { // recorded but not in the store: answer before any byte is sent
		return nil, fmt.Errorf("media: open original %s: %w", sha, err)
	}
	s.Audit.Record(ctx, a, yingji.Event{Action: "media.download", ObjectType: "media", ObjectID: sha, Detail: detail})
	return &Original{Info: st.obj.info(), ctx: ctx, store: s.Store, rc: rc}, nil
}

// Read implements io.Reader.
func (o *Original) Read(p []byte) (int, error) {
	if o.pos >= o.Size {
		return 0, io.EOF
	}
	if o.rc != nil && o.rcPos != o.pos {
		o.rc.Close()
		o.rc = nil
	}
	if o.rc == nil {
		rc, _, err := o.store.Get(o.ctx, media.Original(o.SHA256), o.pos, -1)
		if err != nil {
			return 0, err
		}
		o.rc, o.rcPos = rc, o.pos
	}
	n, err := o.rc.Read(p)
	o.pos += int64(n)
	o.rcPos += int64(n)
	return n, err
}

// Seek implements io.Seeker; it costs nothing until the next read.
func (o *Original) Seek(offset int64, whence int) (int64, error) {
	var p int64
	switch whence {
	case io.SeekStart:
		p = offset
	case io.SeekCurrent:
		p = o.pos + offset
	case io.SeekEnd:
		p = o.Size + offset
	default:
		return 0, errors.New("media: bad whence")
	}
	if p < 0 {
		return 0, errors.New("media: negative position")
	}
	o.pos = p
	return p, nil
}

// Close releases the store reader.
func (o *Original) Close() error {
	if o.rc != nil {
		return o.rc.Close()
	}
	return nil
}

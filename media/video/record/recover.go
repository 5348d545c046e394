package record

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// recoverSpool stores the segments a previous run left in the spool folder: closed ones as
// they are, open ones (the process died while writing them) cut after their last complete
// fragment. Their recordings end with their last segment.
func (r *Recorder) recoverSpool(ctx context.Context) error {
	names, err := filepath.Glob(filepath.Join(r.cfg.SpoolDir, "*.json"))
	if err != nil {
		return err
	}
	ends := map[string]time.Time{}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("record: recover: %w", err)
		}
		var m segMeta
		if err := json.Unmarshal(b, &m); err != nil || m.Recording.ID == "" {
			r.Log.Warn("录像分段说明无法读取，已跳过 (bad sidecar)", "file", name, "err", err)
			continue
		}
		path := strings.TrimSuffix(name, ".json") + ".mp4"
		recovered := !m.Closed
		if !m.Closed {
			d, err := repairSegment(path)
			if errors.Is(err, errEmptySegment) || errors.Is(err, os.ErrNotExist) {
				os.Remove(path)
				os.Remove(name)
				continue
			}
			if err != nil {
				r.Log.Warn("录像分段无法修复，已保留在缓存目录 (cannot repair segment)", "file", path, "err", err)
				continue
			}
			m.Closed, m.DurationMS = true, d.Milliseconds()
			if err := writeMeta(r.cfg.SpoolDir, m); err != nil {
				return err
			}
		}
		if err := r.storeSegmentErr(ctx, m, recovered); err != nil {
			// The media store or the database is not there yet: the files wait for the next start.
			r.Log.Error("录像分段恢复后保存失败，留待下次启动 (store recovered segment)", "file", path, "err", err)
			continue
		}
		end := m.Started.Add(time.Duration(m.DurationMS) * time.Millisecond)
		if end.After(ends[m.Recording.ID]) {
			ends[m.Recording.ID] = end
		}
	}
	for id, end := range ends {
		if _, err := r.DB.Exec(ctx, `UPDATE video_recordings SET ended = $2 WHERE id = $1 AND (ended IS NULL OR ended < $2)`, id, end.UTC()); err != nil {
			return fmt.Errorf("record: recover: %w", err)
		}
	}
	return nil
}

var errEmptySegment = errors.New("record: segment holds no complete fragment")

// repairSegment cuts a segment file after its last complete fragment (moof + mdat) and
// returns the media duration it keeps.
func repairSegment(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	good, initEnd := 0, 0
	var last string
	for pos := 0; pos+8 <= len(b); {
		size := int(binary.BigEndian.Uint32(b[pos:]))
		typ := string(b[pos+4 : pos+8])
		hdr := 8
		if size == 1 {
			if pos+16 > len(b) {
				break
			}
			size, hdr = int(binary.BigEndian.Uint64(b[pos+8:])), 16
		}
		if size < hdr || pos+size > len(b) {
			break // cut short by the crash
		}
		pos += size
		switch typ {
		case "moov":
			initEnd, good = pos, pos
		case "mdat":
			if last == "moof" && initEnd > 0 {
				good = pos
			}
		}
		last = typ
	}
	if initEnd == 0 || good == initEnd {
		return 0, errEmptySegment
	}
	d, err := fileDuration(b[:initEnd], b[initEnd:good])
	if err != nil {
		return 0, err
	}
	if good < len(b) {
		if err := os.Truncate(path, int64(good)); err != nil {
			return 0, err
		}
	}
	return d, nil
}

// fileDuration is the longest track's media time in a fragmented MP4.
func fileDuration(initBytes, fragments []byte) (time.Duration, error) {
	var init fmp4.Init
	// mediacommon reads VP9 entries, not VP8 ones (the same layout; see patchVP8).
	initBytes = bytes.Replace(initBytes, []byte("vp08"), []byte("vp09"), 1)
	if err := init.Unmarshal(bytes.NewReader(initBytes)); err != nil {
		return 0, fmt.Errorf("record: init: %w", err)
	}
	scale := map[int]uint32{}
	for _, t := range init.Tracks {
		scale[t.ID] = t.TimeScale
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(fragments); err != nil {
		return 0, fmt.Errorf("record: fragments: %w", err)
	}
	var longest time.Duration
	for _, p := range parts {
		for _, t := range p.Tracks {
			end := t.BaseTime
			for _, s := range t.Samples {
				end += uint64(s.Duration)
			}
			if ts := scale[t.ID]; ts > 0 {
				if d := time.Duration(float64(end) / float64(ts) * float64(time.Second)); d > longest {
					longest = d
				}
			}
		}
	}
	return longest, nil
}

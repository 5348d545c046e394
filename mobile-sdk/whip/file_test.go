package whip_test

import (
	"path/filepath"
	"testing"

	"github.com/yingji/yingji/media/video/record/recordtest"
	"github.com/yingji/yingji/mobile-sdk/whip"
)

// A file source asked for a key frame (the server's PLI after a re-publish) sends the file's
// next key frame at once, as an encoder does, instead of the rest of the GOP nobody can decode.
func TestFileSourceKeyFrame(t *testing.T) {
	defer recordtest.Cleanup()
	recordtest.MakeClips(t)
	for _, c := range []struct{ file, codec string }{{"clip.h264", "H264"}, {"clip.ivf", "VP8"}} {
		t.Run(c.codec, func(t *testing.T) {
			src, err := whip.OpenFile(filepath.Join(recordtest.Dir(), c.file), 25, true)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var frames [][]byte
			for i := 0; i < 60; i++ { // the clips have a key frame every 25 frames
				s, err := src.Next()
				if err != nil {
					t.Fatal(err)
				}
				frames = append(frames, s.Data)
			}
			again, err := whip.OpenFile(filepath.Join(recordtest.Dir(), c.file), 25, true)
			if err != nil {
				t.Fatal(err)
			}
			defer again.Close()
			for i := 0; i < 3; i++ {
				if _, err := again.Next(); err != nil {
					t.Fatal(err)
				}
			}
			again.RequestKeyFrame()
			s, err := again.Next()
			if err != nil {
				t.Fatal(err)
			}
			if string(s.Data) != string(frames[25]) {
				t.Errorf("after a key frame request: not frame 25 (the next key frame)")
			}
			s, err = again.Next()
			if err != nil || string(s.Data) != string(frames[26]) {
				t.Errorf("the frame after it is not frame 26: %v", err)
			}
		})
	}
}

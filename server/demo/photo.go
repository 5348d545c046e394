package demo

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"

	"github.com/yingji/yingji/server/yingji"
)

// photo makes the after-photo of a rectification (a plain picture: the demo has no camera)
// and stores it through the media service as the user's upload; it returns its SHA-256.
func (s *sim) photo(a *yingji.Actor, hazardID string) (string, error) {
	return s.photoNamed(a, hazardID, fmt.Sprintf("整改照片-%s.jpg", s.now.In(Zone).Format("20060102-1504")))
}

// photoNamed makes a plain picture from key (and the simulated time) and stores it as the
// user's upload named name; it returns its SHA-256.
func (s *sim) photoNamed(a *yingji.Actor, key, name string) (string, error) {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", key, s.now.Unix())
	seed := h.Sum64()
	const w, hgt = 320, 240
	img := image.NewRGBA(image.Rect(0, 0, w, hgt))
	r0, g0, b0 := uint8(seed), uint8(seed>>8), uint8(seed>>16)
	for y := 0; y < hgt; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{r0/2 + uint8(x*64/w), g0/2 + uint8(y*64/hgt), b0/2 + 64, 255})
		}
	}
	// a darker band like a pipe rack or a wall
	for y := hgt / 3; y < hgt/3+24; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{r0 / 4, g0 / 4, b0 / 4, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		return "", err
	}
	return s.h.Media.Import(s.ctx, a, buf.Bytes(), name)
}

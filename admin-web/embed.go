// Package adminweb holds the built government portal so the server binary can embed it.
// dist/ is made by `npm run build` in this folder and committed, so `go run ./server` serves
// the portal without npm.
package adminweb

import "embed"

// Dist is the built portal: dist/index.html, dist/assets/* and the static files beside them.
//
//go:embed all:dist
var Dist embed.FS

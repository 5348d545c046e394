package route

import (
	_ "embed"
	"sync"
)

// demoCity is the road network of the demo city 临江市: a grid of streets over 江南区 and the
// 临港 chemical park, the small grids of 青山镇 and 临溪镇, the expressway between them and the
// provincial road to 临溪. Fictional and generated deterministically (see TestDemoCityFixture)
// to fit the demo's coordinates.
//
//go:embed testdata/lingjiang-roads.geojson
var demoCity []byte

// DemoCityGeoJSON returns the demo city's road network as GeoJSON.
func DemoCityGeoJSON() []byte { return demoCity }

var demoGraph = sync.OnceValues(func() (*Graph, error) { return LoadGeoJSON(demoCity) })

// DemoCity returns the graph of the demo city's roads, built once.
func DemoCity() (*Graph, error) { return demoGraph() }

// Leaflet and its marker clustering. leaflet.markercluster extends the global L that Leaflet's
// UMD build sets on window, so Leaflet is imported first.
import L from 'leaflet'
import 'leaflet.markercluster'
import 'leaflet/dist/leaflet.css'
import 'leaflet.markercluster/dist/MarkerCluster.css'

export default L

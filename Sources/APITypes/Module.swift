// APITypes: what crosses the wire and what users write.
// - Wire/: the REST API's request and response bodies, the route table, the error body, wire coding.
// - Manifest/: the manifest format (Job and Queue documents), its validator with field paths, and the open
//   registry of job kinds whose settings each kind validates.

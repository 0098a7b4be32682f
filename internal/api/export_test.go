package api

// Decode lets the fuzz tests read bodies the way every handler does.
var Decode = decode

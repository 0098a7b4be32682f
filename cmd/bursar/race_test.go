//go:build race

package main

// raceEnabled says the tests run under the race detector, so the server
// they start as a process is built with it too.
const raceEnabled = true

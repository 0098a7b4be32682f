package admin

// FlashSig lets tests sign a message the way an action does.
var FlashSig = flashSig

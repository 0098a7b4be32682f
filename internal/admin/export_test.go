package admin

// FlashSig lets tests sign a message the way an action does.
var FlashSig = flashSig

// SafeBack lets the fuzz tests check where forms may send an admin back.
var SafeBack = safeBack

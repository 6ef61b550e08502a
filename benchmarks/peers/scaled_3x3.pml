/* tiny-scaled-3x3 (swaplab scenarios/tiny.py) in Promela: three processes, each three
   lock-protected increments of x (lock, load, store, unlock), then one unlocked read.
   Properties: every read is in [3, 9]; x == 9 once all three are done. */
byte x = 0;
bool lk = false;
byte done = 0;

proctype T() {
    byte i = 0;
    byte v;
    do
    :: i < 3 ->
        atomic { !lk -> lk = true };
        v = x;
        x = v + 1;
        lk = false;
        i++
    :: else -> break
    od;
    v = x;
    assert(v >= 3 && v <= 9);
    done++
}

init {
    atomic { run T(); run T(); run T() };
    (done == 3) -> assert(x == 9)
}

// Benchmark helper (scripts/bench.sh, never a test): a whole fax call simulated in-process with
// spandsp, a TIFF sent by one T.30 terminal to another over G.711 A-law audio, both modems
// (V.17/V.29/V.27ter) running, ECM on, MH/MR/MMR offered as Asterisk's SendFax and a fax machine
// negotiate. Prints the simulated call time (audio seconds), not the time the simulation took.
// Usage: faxcall FILE.tiff [received.tiff]
#include <tiffio.h>
// spandsp.h wants libtiff's header first (done above).
#include <cstdio>
#include <cstdlib>
#include <spandsp.h>
#include <string>

namespace {

struct Side {
    fax_state_t* fax = nullptr;
    bool done = false;
    int result = -1;
};

void phase_e(t30_state_t*, void* user, int result) {
    auto* side = static_cast<Side*>(user);
    side->done = true;
    side->result = result;
}

void set_up(Side& side, bool calling, const char* ident) {
    side.fax = fax_init(nullptr, calling ? 1 : 0);
    fax_set_transmit_on_idle(side.fax, 1);
    t30_state_t* t30 = fax_get_t30_state(side.fax);
    t30_set_tx_ident(t30, ident);
    t30_set_supported_modems(t30, T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17);
    t30_set_supported_compressions(t30, T30_SUPPORT_T4_1D_COMPRESSION |
                                            T30_SUPPORT_T4_2D_COMPRESSION |
                                            T30_SUPPORT_T6_COMPRESSION);
    t30_set_ecm_capability(t30, 1);
    t30_set_phase_e_handler(t30, phase_e, &side);
}

// Both directions through A-law, as a G.711 call carries them.
void g711(int16_t* amp, int n) {
    for (int i = 0; i < n; ++i)
        amp[i] = alaw_to_linear(linear_to_alaw(amp[i]));
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: faxcall FILE.tiff [received.tiff]\n");
        return 64;
    }
    const std::string received = argc > 2 ? argv[2] : "/dev/null";
    TIFFSetWarningHandler(nullptr);
    Side sender, receiver;
    set_up(sender, true, "sender");
    set_up(receiver, false, "receiver");
    t30_set_tx_file(fax_get_t30_state(sender.fax), argv[1], -1, -1);
    t30_set_rx_file(fax_get_t30_state(receiver.fax), received.c_str(), -1);

    constexpr int chunk = 160; // 20 ms
    int16_t a[chunk], b[chunk];
    long samples = 0;
    const long limit = 8000L * 3600; // an hour of call: give up
    while (!(sender.done && receiver.done) && samples < limit) {
        int na = fax_tx(sender.fax, a, chunk);
        int nb = fax_tx(receiver.fax, b, chunk);
        g711(a, na);
        g711(b, nb);
        fax_rx(receiver.fax, a, na);
        fax_rx(sender.fax, b, nb);
        samples += chunk;
    }
    t30_stats_t st;
    t30_get_transfer_statistics(fax_get_t30_state(receiver.fax), &st);
    std::printf("call %.1f s, pages %d, %d bit/s, ecm %s, compression %d, result %d (%s)\n",
                static_cast<double>(samples) / 8000.0, st.pages_rx, st.bit_rate,
                st.error_correcting_mode ? "on" : "off", st.encoding, sender.result,
                t30_completion_code_to_str(sender.result));
    fax_free(sender.fax);
    fax_free(receiver.fax);
    return sender.result == T30_ERR_OK ? 0 : 1;
}

# A fake Asterisk for the getchaninfo e2e tests (sourced, not run; reusable by any AGI tool's
# tests): runs an AGI program on a pair of pipes and speaks res_agi's side of the protocol, as
# in tests/data/agi/agi-transcript.txt.
#
#   declare -A AGI_VARS=([EXTEN]=1000)   channel variables GET VARIABLE answers from
#   AGI_HANGUP_AT=N                       answer the Nth command with "HANGUP" and hang up
#   agi_run OUTDIR program args...
#
# Afterwards: OUTDIR/commands (every line the program wrote), OUTDIR/stderr, OUTDIR/rc, and
# AGI_SET (an associative array of the variables it set, values unquoted as res_agi does).

declare -A AGI_VARS=()
declare -A AGI_SET=()
AGI_HANGUP_AT=0

# res_agi's parse_args for one quoted argument: "..." with backslash taking the next character.
agi_unquote() {
  local s=$1 out= i c esc=0
  [[ $s == \"* ]] && s=${s#\"}
  [[ $s == *\" ]] && s=${s%\"}
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    if ((esc)); then
      out+=$c
      esc=0
    elif [[ $c == \\ ]]; then
      esc=1
    else
      out+=$c
    fi
  done
  printf '%s' "$out"
}

agi_run() {
  local out=$1
  shift
  AGI_SET=()
  : >"$out/commands"
  coproc AGI_PROG { "$@" 2>"$out/stderr"; echo $? >"$out/rc"; }
  local to=${AGI_PROG[1]} from=${AGI_PROG[0]} pid=$AGI_PROG_PID
  # The environment as Asterisk writes it (values from the recorded session).
  {
    printf 'agi_request: %s\n' "$(basename "$1")"
    printf 'agi_channel: PJSIP/600700800-00000001\n'
    printf 'agi_language: en\nagi_type: PJSIP\nagi_uniqueid: 1795992945.21\n'
    printf 'agi_version: GIT-master-f0c1c1a7b7\nagi_callerid: 600700800\n'
    printf 'agi_calleridname: unknown\nagi_callingpres: 0\nagi_callingani2: 0\n'
    printf 'agi_callington: 0\nagi_callingtns: 0\nagi_dnid: %s\nagi_rdnis: unknown\n' \
      "${AGI_VARS[EXTEN]:-unknown}"
    printf 'agi_context: sms-route\nagi_extension: %s\nagi_priority: 2\n' \
      "${AGI_VARS[EXTEN]:-s}"
    printf 'agi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 140014902789824\n'
    local i=1 a
    for a in "${@:2}"; do
      printf 'agi_arg_%d: %s\n' "$i" "$a"
      i=$((i + 1))
    done
    printf '\n'
  } >&"$to"
  local n=0 line name value reply
  while IFS= read -r -t 30 line <&"$from"; do
    n=$((n + 1))
    printf '%s\n' "$line" >>"$out/commands"
    if ((AGI_HANGUP_AT == n)); then
      printf 'HANGUP\n' >&"$to"
      break
    fi
    case $line in
    "GET VARIABLE "*)
      name=${line#GET VARIABLE }
      if [[ -v AGI_VARS[$name] ]]; then
        reply="200 result=1 (${AGI_VARS[$name]})"
      else
        reply="200 result=0"
      fi
      ;;
    "SET VARIABLE "*)
      name=${line#SET VARIABLE }
      value=${name#* }
      name=${name%% *}
      AGI_SET[$name]=$(agi_unquote "$value")
      reply="200 result=1"
      ;;
    "VERBOSE "*) reply="200 result=1" ;;
    *) reply="510 Invalid or unknown command" ;;
    esac
    printf '%s\n' "$reply" >&"$to"
  done
  # Asterisk closes both pipes when the script ends or the channel hangs up.
  exec {to}>&- {from}<&-
  wait "$pid" 2>/dev/null || true
}

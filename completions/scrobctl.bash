# scrobctl completion script, generated from the CLI; do not edit (see completions/)
_scrobctl() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local path="" i next
    for ((i = 1; i < COMP_CWORD; i++)); do
        next="${path:+$path }${COMP_WORDS[i]}"
        case "$next" in
            ("completion"|"completion install"|"completion show"|"config"|"config edit"|"config path"|"config set"|"config show"|"doctor"|"explain"|"export"|"export ratings"|"flush"|"history"|"import"|"login"|"logout"|"notify"|"notify test"|"queue"|"queue drop"|"queue list"|"queue retry"|"rate"|"scrobble"|"serve"|"serve token"|"serve token add"|"serve token list"|"serve token remove"|"stats"|"status"|"sync"|"tokens"|"tokens migrate"|"unscrobble"|"watch"|"watch cmus"|"watch mpd"|"watch mpris") path="$next" ;;
        esac
    done
    case "$path|$prev" in
        ("export ratings|--to") COMPREPLY=($()); return ;;
        ("export ratings|--from") COMPREPLY=($()); return ;;
        ("export ratings|--since") COMPREPLY=($()); return ;;
        ("export ratings|--profile"|"export ratings|-p") COMPREPLY=($()); return ;;
        ("history|--type"|"history|-t") COMPREPLY=($(compgen -W "track podcast movie episode" -- "$cur")); return ;;
        ("history|--service"|"history|-s") COMPREPLY=($()); return ;;
        ("history|--since") COMPREPLY=($()); return ;;
        ("history|--source") COMPREPLY=($()); return ;;
        ("history|--limit"|"history|-n") COMPREPLY=($()); return ;;
        ("history|--profile"|"history|-p") COMPREPLY=($()); return ;;
        ("import|--since") COMPREPLY=($()); return ;;
        ("import|--profile"|"import|-p") COMPREPLY=($()); return ;;
        ("import|--file"|"import|-f") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        ("import|--format") COMPREPLY=($(compgen -W "spotify lastfm listenbrainz letterboxd trakt imdb simkl report" -- "$cur")); return ;;
        ("login|--profile"|"login|-p") COMPREPLY=($()); return ;;
        ("login|--name") COMPREPLY=($()); return ;;
        ("login|--url") COMPREPLY=($()); return ;;
        ("login|--user") COMPREPLY=($()); return ;;
        ("logout|--profile"|"logout|-p") COMPREPLY=($()); return ;;
        ("queue drop|--state"|"queue drop|-s") COMPREPLY=($(compgen -W "available running retryable completed discarded rejected" -- "$cur")); return ;;
        ("queue drop|--service") COMPREPLY=($()); return ;;
        ("queue list|--state"|"queue list|-s") COMPREPLY=($(compgen -W "available running retryable completed discarded rejected" -- "$cur")); return ;;
        ("queue list|--service") COMPREPLY=($()); return ;;
        ("queue list|--limit"|"queue list|-n") COMPREPLY=($()); return ;;
        ("queue retry|--state"|"queue retry|-s") COMPREPLY=($(compgen -W "available running retryable completed discarded rejected" -- "$cur")); return ;;
        ("queue retry|--service") COMPREPLY=($()); return ;;
        ("rate|--profile"|"rate|-p") COMPREPLY=($()); return ;;
        ("scrobble|--file"|"scrobble|-f") COMPREPLY=($(compgen -f -- "$cur")); return ;;
        ("scrobble|--format") COMPREPLY=($(compgen -W "json playerctl" -- "$cur")); return ;;
        ("serve|--host") COMPREPLY=($()); return ;;
        ("serve|--port") COMPREPLY=($()); return ;;
        ("serve|--flush-every") COMPREPLY=($()); return ;;
        ("serve|--print-unit") COMPREPLY=($(compgen -W "systemd launchd" -- "$cur")); return ;;
        ("serve token add|--profile"|"serve token add|-p") COMPREPLY=($()); return ;;
        ("serve token add|--account") COMPREPLY=($()); return ;;
        ("stats|--since") COMPREPLY=($()); return ;;
        ("stats|--type"|"stats|-t") COMPREPLY=($(compgen -W "track podcast movie episode" -- "$cur")); return ;;
        ("stats|--top") COMPREPLY=($()); return ;;
        ("sync|--to") COMPREPLY=($()); return ;;
        ("sync|--from") COMPREPLY=($()); return ;;
        ("sync|--source") COMPREPLY=($()); return ;;
        ("sync|--since") COMPREPLY=($()); return ;;
        ("sync|--until") COMPREPLY=($()); return ;;
        ("sync|--profile"|"sync|-p") COMPREPLY=($()); return ;;
        ("tokens migrate|--to") COMPREPLY=($(compgen -W "keyring file" -- "$cur")); return ;;
        ("unscrobble|--from") COMPREPLY=($()); return ;;
        ("watch mpd|--host") COMPREPLY=($()); return ;;
        ("watch mpd|--port") COMPREPLY=($()); return ;;
        ("watch mpd|--flush-every") COMPREPLY=($()); return ;;
        ("watch mpris|--player"|"watch mpris|-p") COMPREPLY=($()); return ;;
        ("watch mpris|--flush-every") COMPREPLY=($()); return ;;
    esac
    local words=""
    case "$path" in
        ("") words="completion config doctor explain export flush history import login logout notify queue rate scrobble serve stats status sync tokens unscrobble watch --version --debug --verbose -v --quiet -q --help" ;;
        ("completion") words="install show --help" ;;
        ("completion install") words="bash zsh fish --help" ;;
        ("completion show") words="bash zsh fish --help" ;;
        ("config") words="edit path set show --help" ;;
        ("config edit") words="--help" ;;
        ("config path") words="--help" ;;
        ("config set") words="--help" ;;
        ("config show") words="--json --help" ;;
        ("doctor") words="--json --full --help" ;;
        ("explain") words="--json --help" ;;
        ("export") words="ratings --help" ;;
        ("export ratings") words="--to --from --since --dry-run -n --profile -p --json --help" ;;
        ("flush") words="--quiet -q --dry-run -n --json --help" ;;
        ("history") words="--type -t --service -s --since --source --limit -n --profile -p --json --help" ;;
        ("import") words="--since --full --profile -p --json --file -f --format --dry-run -n --help" ;;
        ("login") words="trakt simkl lastfm listenbrainz --profile -p --token-stdin --no-browser --name --url --password --user --force -f --queue-archived --no-queue-archived --help" ;;
        ("logout") words="--profile -p --drop-queue --help" ;;
        ("notify") words="test --help" ;;
        ("notify test") words="--help" ;;
        ("queue") words="drop list retry --help" ;;
        ("queue drop") words="--state -s --service --help" ;;
        ("queue list") words="--state -s --service --all -a --limit -n --json --help" ;;
        ("queue retry") words="--state -s --service --help" ;;
        ("rate") words="--profile -p --help" ;;
        ("scrobble") words="--file -f --dry-run -n --format --json --help" ;;
        ("serve") words="token --host --port --flush-every --print-unit --help" ;;
        ("serve token") words="add list remove --help" ;;
        ("serve token add") words="--profile -p --account --replace --help" ;;
        ("serve token list") words="--json --help" ;;
        ("serve token remove") words="--help" ;;
        ("stats") words="--since --type -t --top --json --help" ;;
        ("status") words="--json --check --help" ;;
        ("sync") words="--to --from --source --since --until --ratings --dry-run -n --profile -p --json --help" ;;
        ("tokens") words="migrate --help" ;;
        ("tokens migrate") words="--to --help" ;;
        ("unscrobble") words="--from --dry-run -n --json --help" ;;
        ("watch") words="cmus mpd mpris --help" ;;
        ("watch cmus") words="--help" ;;
        ("watch mpd") words="--host --port --flush-every --help" ;;
        ("watch mpris") words="--player -p --flush-every --print-format --help" ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _scrobctl scrobctl

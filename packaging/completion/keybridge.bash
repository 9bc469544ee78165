# bash completion for keybridge and keybridged (installed under both names). Commands and options
# are read from the program's own --help, so they always match the installed version.

# The --options listed by "$@ --help".
_keybridge_help_options() {
    "$@" --help 2>/dev/null | sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p'
}

# The command names ("init", "account derive", ...) listed by "$1 --help".
_keybridge_commands() {
    "$1" --help 2>/dev/null |
        awk '/^Commands:/ { on = 1; next } on && /^$/ { exit }
             on { sub(/^  /, ""); sub(/  .*/, ""); print }'
}

_keybridge() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local tool=${COMP_WORDS[0]}
    COMPREPLY=()
    case $prev in
        --datadir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --*-file | --out | --keystore | --mnemonic-out) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac

    local commands typed="" word i
    commands=$(_keybridge_commands "$tool")
    # The command words typed so far: the words that extend a command name (others are
    # options and their values).
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        [[ $word == -* ]] && continue
        if grep -qx -e "${typed:+$typed }$word" -e "${typed:+$typed }$word .*" <<<"$commands"; then
            typed="${typed:+$typed }$word"
        fi
    done

    if [[ $cur == -* ]]; then
        if [[ -n $typed ]] && grep -qx -e "$typed" <<<"$commands"; then
            COMPREPLY=($(compgen -W "$(_keybridge_help_options "$tool" $typed)" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_keybridge_help_options "$tool") --version" -- "$cur"))
        fi
        return
    fi
    # The next word of the commands that start with what was typed.
    local next
    if [[ -z $typed ]]; then
        next=$(awk '{ print $1 }' <<<"$commands" | sort -u)
    else
        next=$(awk -v t="$typed " 'index($0, t) == 1 { rest = substr($0, length(t) + 1);
                                     split(rest, w, " "); print w[1] }' <<<"$commands" | sort -u)
    fi
    COMPREPLY=($(compgen -W "$next" -- "$cur"))
}

_keybridged() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    case $prev in
        --datadir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --config | --policy | --password-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    COMPREPLY=($(compgen -W "$(_keybridge_help_options "${COMP_WORDS[0]}")" -- "$cur"))
}

complete -F _keybridge keybridge
complete -F _keybridged keybridged

# bash completion for caamcrypt. Install as
# /usr/share/bash-completion/completions/caamcrypt.
#
# The candidates come from the installed program itself
# (`caamcrypt __complete WORD...`), so they always match its commands and
# options. Where it offers nothing (an argument, or an option's value),
# bash completes file names.
_caamcrypt() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local IFS=$'\n'
	local words
	words=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
	# shellcheck disable=SC2207 # one candidate a line, IFS is a newline
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -o bashdefault -F _caamcrypt caamcrypt

" Vim syntax file
" Language: conn scenario scripts (*.conn), see docs/LANGUAGE.md
" The same scopes as editors/vscode/syntaxes/conn.tmLanguage.json; scripts/check-editors.sh
" checks that every corpus file highlights without connError.

if exists("b:current_syntax")
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match

" Anything no other group claims is an error; later groups win over earlier ones.
syn match connError /[^ \t;={}#"]\+/
syn match connName /\<[A-Za-z_][A-Za-z0-9_]*\>/
" Words are matches, not keywords: a Vim keyword would beat the longer icmp types (addr-...).
syn match connWord /\<\%(unreachable\|interrupt\|blackhole\|nonblock\|prohibit\|default6\|backlog\|unnamed\|default\|forward\|connect\|unspec\|badptr\|family\|null\|mode\|none\|proto\|groups\|within\|silent\|router\|output\|accept\|reject\|icmpv6\|nobody\|block\|zeros\|after\|route\|ports\|input\|saddr\|daddr\|sport\|dport\|reset\|icmpx\|write\|both\|bind\|abstract\|background\|addr\|down\|self\|drop\|with\|icmp\|deny\|root\|read\|off\|len\|hex\|via\|add\|del\|tcp\|udp\|on\|as\|ok\|or\|up\|lo\)\>[-.]\@!/
syn match connType /\<\%(seqpacket\|stream\|dgram\|raw\|inet6\|inet\|unix\|packet\|netlink\|file\|fd\)\>[-.]\@!/
syn match connEvent /\<\%(readable\|writable\|timeout\|error\|rdhup\|nval\|hup\|pri\)\>[-.]\@!/
syn match connStatement /\%(^\|[;{]\)\s*\zs\%(socketpair\|sock\|bind\|listen\|connect\|accept\|dup\|set\|get\|poll\|peer\|local\|shutdown\|sendto\|send\|write\|recvfrom\|recv\|read\|close\|sleep\|expect\|net\|host\|link\|route\|addr\|firewall\|sysctl\|user\|drop\|landlock\|wait\|signal\|mkdir\|mkfile\|chmod\|chown\|symlink\|rm\|repeat\)\>/
syn match connIcmp /\<\%(net-unreachable\|host-unreachable\|port-unreachable\|addr-unreachable\|admin-prohibited\|no-route\)\>/
syn match connErrno /\<E[A-Z0-9]\+\>/
syn match connOption /\<\%(\%(SO\|TCP\|IPV6\|IP\)_[A-Z0-9_]\+\|O_NONBLOCK\|FD_CLOEXEC\)\>/
syn match connFlag /\<MSG_[A-Z0-9_]\+\>/
syn match connSysctl /\<net\%(\.[A-Za-z0-9_]\+\)\+/
syn match connNumber /\%([A-Za-z0-9_.:/%-]\)\@<!-\=\d\+\>/
syn match connDuration /\%([A-Za-z0-9_.:/%-]\)\@<!\d\+\%(\.\d\+\)\=\%(ns\|us\|ms\|s\|m\)\>/
syn match connIPv4 /\%([A-Za-z0-9_.:/%]\)\@<!\%(\d\{1,3}\.\)\{3}\d\{1,3}\%(:\%(\d\+\|\h\w*\)\)\=\%([A-Za-z0-9_.:/%]\)\@!/
syn match connPrefix /\%([A-Za-z0-9_.:/%]\)\@<!\%(\%(\d\{1,3}\.\)\{3}\d\{1,3}\|\x\{0,4}\%(:\x\{0,4}\)\{1,7}\%(:\%(\d\{1,3}\.\)\{3}\d\{1,3}\)\=\)\/\d\+\%([A-Za-z0-9_.:/%]\)\@!/
syn match connIPv6 /\[[0-9A-Fa-f:.]\+\%(%[A-Za-z0-9_.-]\+\)\=\]\%(:\%(\d\+\|\h\w*\)\)\=/
syn match connAbstract /@[^ \t;#{}"]\+/
syn match connPunct /[=;{}]/
syn match connEscape contained /\\\%([\\"nt0]\|x[0-7]\x\)/
syn match connBadEscape contained /\\\%([\\"nt0]\|x[0-7]\x\)\@!.\=/
syn region connString start=/"/ skip=/\\[\\"]/ end=/"\|$/ oneline contains=connEscape,connBadEscape
syn match connComment /#.*$/ contains=@Spell
syn match connNeeds /^\s*#\s*needs:.*$/

hi def link connError Error
hi def link connBadEscape Error
hi def link connName Identifier
hi def link connWord Keyword
hi def link connType Type
hi def link connEvent Constant
hi def link connStatement Statement
hi def link connIcmp Constant
hi def link connErrno Constant
hi def link connOption Special
hi def link connFlag Special
hi def link connSysctl Special
hi def link connNumber Number
hi def link connDuration Number
hi def link connIPv4 Number
hi def link connIPv6 Number
hi def link connPrefix Number
hi def link connAbstract String
hi def link connString String
hi def link connEscape SpecialChar
hi def link connPunct Delimiter
hi def link connComment Comment
hi def link connNeeds PreProc

let b:current_syntax = "conn"

let &cpo = s:cpo_save
unlet s:cpo_save

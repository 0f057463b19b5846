" Vim compiler file for conn scenario scripts: ':compiler conn' then ':make' (or ':make %')
" runs 'conn check' and fills the quickfix list with its diagnostics and their hints.
if exists("current_compiler")
  finish
endif
let current_compiler = "conn"

let s:cpo_save = &cpo
set cpo&vim

CompilerSet makeprg=NO_COLOR=1\ conn\ check\ -q\ %:S
" file:line:col: error|warning|note: message, then the source line, the caret and 'hint: ...'.
CompilerSet errorformat=%E%f:%l:%c:\ error:\ %m,%W%f:%l:%c:\ warning:\ %m,%I%f:%l:%c:\ note:\ %m,%+C\ \ hint:\ %.%#,%-C\ \ %.%#,%-G%.%#

let &cpo = s:cpo_save
unlet s:cpo_save

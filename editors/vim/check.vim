" Run by scripts/check-editors.sh: vim -Es -u NONE -N -S editors/vim/check.vim -- FILES...
" Loads each file with the conn syntax and writes one line per character that is not blank,
" not in a comment, and either in no syntax group or in connError/connBadEscape, to $CONN_VIM_OUT.
" Note: Vim's keywords win over matches, so a keyword is only a keyword where no match that
" starts there is longer; the check is what the user sees.
syntax on
let s:out = []
let s:count = 0
for s:f in argv()
  execute 'silent edit ' . fnameescape(s:f)
  set filetype=conn
  let s:count += 1
  for s:l in range(1, line('$'))
    let s:text = getline(s:l)
    for s:c in range(1, strlen(s:text))
      let s:ch = s:text[s:c - 1]
      if s:ch =~ '\s'
        continue
      endif
      let s:name = synIDattr(synID(s:l, s:c, 1), 'name')
      if s:name == '' || s:name == 'connError' || s:name == 'connBadEscape'
        call add(s:out, s:f . ':' . s:l . ':' . s:c . ': ' . (s:name == '' ? 'unscoped' : s:name) . ' ' . s:ch . '  ' . s:text)
      endif
    endfor
  endfor
endfor
call add(s:out, 'vim: ' . s:count . ' files')
call writefile(s:out, $CONN_VIM_OUT)
qall!

" conn scenario scripts (https://github.com/ ... docs/LANGUAGE.md)
autocmd BufRead,BufNewFile *.conn setfiletype conn

import ConnSyntax

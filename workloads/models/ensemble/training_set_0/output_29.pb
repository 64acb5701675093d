B(grad/member1/decoder/layer0/gconv_c/biasJ â‰º~E
»6»°†ºıøºîÉ˜:WÓ¡9mÒš:
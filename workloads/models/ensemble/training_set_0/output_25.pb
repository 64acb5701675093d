B(grad/member1/encoder/layer1/gconv_c/biasJ ‰‡…»{jº
¹;ï:Nx<‚Â
¹ñÊ¿:Ãeg»
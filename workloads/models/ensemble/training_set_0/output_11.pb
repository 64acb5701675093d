B(grad/member0/decoder/layer0/gconv_c/biasJ OÚ<
Ð<–ùô»|u¼±b<T¼:}¢;r£ºº